// Unit tests of models/jinja: whitespace control, scoping, values, and errors that name the construct and its
// line:column. The byte-for-byte comparison with @huggingface/jinja on real templates is tests/tokenizer_npm.
#include <doctest/doctest.h>

#include "models/jinja/jinja.h"
#include "runtime/error.h"

using namespace edgellm;
using ojson = nlohmann::ordered_json;

namespace {

std::string render(const std::string& src, const ojson& ctx = ojson::object()) { return jinja::Template(src, "t").render(ctx); }

// The message of the Error that parsing or rendering `src` throws ("" when none does).
std::string error_of(const std::string& src, const ojson& ctx = ojson::object()) {
  try {
    render(src, ctx);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("jinja: whitespace control and transformers' trim_blocks/lstrip_blocks") {
  CHECK(render("a  {{- 'b' -}}  c") == "abc");
  CHECK(render("a \n {%- if true -%} \n b \n {%- endif -%} \n c") == "abc");
  // trim_blocks: the newline after a tag goes; lstrip_blocks: indentation before a tag at a line start goes.
  CHECK(render("{% if true %}\n  x\n    {% endif %}\ny") == "  x\ny");
  CHECK(render("line\n") == "line");          // one trailing newline of the template is dropped
  CHECK(render("{{ 'a' }}\nb") == "a\nb");     // an expression keeps its newline
  CHECK(render("{# note #}\nx") == "x");
}

TEST_CASE("jinja: scoping, loops and namespaces") {
  const ojson ctx = {{"xs", {"a", "b", "c"}}};
  CHECK(render("{% for x in xs %}{{ loop.index }}{{ x }}{{ ',' if not loop.last }}{% endfor %}", ctx) == "1a,2b,3c");
  CHECK(render("{% for x in xs %}{% if loop.first %}[{% endif %}{{ loop.revindex0 }}{% endfor %}", ctx) == "[210");
  // set inside a loop stays in the loop; a namespace's attribute is seen after it.
  CHECK(render("{% set n = 0 %}{% set ns = namespace(n=0) %}{% for x in xs %}{% set n = n + 1 %}{% set ns.n = ns.n + 1 %}{% endfor %}"
               "{{ n }} {{ ns.n }}", ctx) == "0 3");
  CHECK(render("{% for x in xs if x != 'b' %}{{ x }}{% else %}none{% endfor %}", ctx) == "ac");
  CHECK(render("{% for x in [] %}{{ x }}{% else %}none{% endfor %}") == "none");
  CHECK(render("{{ xs[::-1] | join('') }} {{ xs[1:] | tojson }} {{ xs[-1] }} {{ 'héllo'[1:3] }}", ctx) == "cba [\"b\", \"c\"] c él");
  CHECK(render("{% macro m(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}") == "1B23");
  CHECK(render("{% set a, b = [1, 2] %}{{ b }}{{ a }}") == "21");
  // A namespace that refers to itself is freed at the end of the render (ASan's leak check watches this).
  CHECK(render("{% set ns = namespace(x=1) %}{% set ns.self = ns %}{{ ns.self.x }}") == "1");
  // A macro outliving the loop that defined it is an error, not a dangling scope.
  CHECK_THROWS_WITH_AS(render("{% set ns = namespace() %}{% for i in [1] %}{% macro m() %}x{% endmacro %}{% set ns.f = m %}"
                              "{% endfor %}{{ ns.f() }}"),
                       "t:1:108: macro 'm' called after the block that defined it ended", Error);
}

TEST_CASE("jinja: values print and compare as @huggingface/jinja's") {
  CHECK(render("{{ 1.0 }} {{ 2.5 }} {{ 1 + 1.0 }} {{ 7 // 2 }} {{ 7 / 2 }} {{ true }} {{ none }}|") == "1.0 2.5 2.0 3 3.5 true |");
  CHECK(render("{{ 'x' + 1 }} {{ 1 ~ 'y' }} {{ undefined_name ~ 'z' }}") == "x1 1y z");
  const ojson ctx = {{"m", {{"role", "user"}, {"content", "é\"\n"}, {"n", 1.5}}}};
  CHECK(render("{{ m | tojson }}", ctx) == R"({"role": "user", "content": "é\"\n", "n": 1.5})");
  CHECK(render("{{ m | tojson(ensure_ascii=true) }}", ctx) == R"({"role": "user", "content": "\u00e9\"\n", "n": 1.5})");
  CHECK(render("{{ m.missing is defined }} {{ m.role is string }} {{ m is mapping }} {{ m.missing is none }}", ctx) == "false true true false");
  CHECK(render("{{ 1 == 1.0 }} {{ none == undefined_name }} {{ 'a' in ['a'] }} {{ 'role' in m }}", ctx) == "true true true true");
  CHECK(render("{{ '  x \n'.strip() }}|{{ 'a-b-c'.split('-', 1) | tojson }}|{{ 'aXbX'.replace('X', '.', 1) }}") == R"(x|["a", "b-c"]|a.bX)");
}

TEST_CASE("jinja: a construct outside the subset is an error naming it and its position") {
  CHECK(error_of("ab\n{% call foo() %}x{% endcall %}") == "t:2:1: unsupported construct: '{% call %}' statement");
  CHECK(error_of("{% filter upper %}x{% endfilter %}").find("'{% filter %}'") != std::string::npos);
  CHECK(error_of("x {{ 'a' | wordcount }}") == "t:1:10: unsupported filter 'wordcount' on a string");
  CHECK(error_of("{{ 3 is divisibleby(3) }}").find("t:1:20: unsupported construct: test 'divisibleby' with arguments") == 0);
  CHECK(error_of("{{ 3 is prime }}") == "t:1:6: unsupported test 'prime'");
  CHECK(error_of("{% set x %}a{% endset %}").find("block assignment") != std::string::npos);
  CHECK(error_of("{{ f(*xs) }}").find("argument unpacking") != std::string::npos);
  CHECK(error_of("{{ 'x'.zfill(3) }}") == "t:1:4: unsupported call: method 'zfill' is not a function here (a undefined)");
  CHECK(error_of("{% generation %}x{% endgeneration %}").find("'{% generation %}'") != std::string::npos);
}

TEST_CASE("jinja: template mistakes and raise_exception name the position") {
  CHECK(error_of("{% if true %}x") == "t:1:1: '{% if %}' is never closed");
  CHECK(error_of("{{ 'abc }}") == "t:1:4: string literal is never closed");
  CHECK(error_of("a\n  {% frobnicate %}") == "t:2:3: unknown statement 'frobnicate'");
  CHECK(error_of("{{ 1 + }}").find("t:1:8: unexpected '}}'") == 0);
  CHECK(error_of("\n{{ raise_exception('roles must alternate') }}") == "t:2:4: raise_exception: roles must alternate");
  CHECK(error_of("{{ x.y + 1 }}") == "t:1:8: '+' of an undefined value (undefined + integer)");
  CHECK(error_of("{% for x in 3 %}{% endfor %}") == "t:1:13: cannot loop over a integer");
  // Untrusted templates: runaway recursion and nesting are errors, not a blown stack.
  CHECK(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("macro calls nested deeper than 64") != std::string::npos);
  CHECK(error_of("{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}").find("nested deeper than 128") != std::string::npos);
  CHECK(error_of(std::string(10000, '{') ).empty() == false);
}
