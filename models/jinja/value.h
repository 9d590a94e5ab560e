// The values a Jinja template computes with (undefined, none, bool, int, float, string, list, mapping, namespace,
// callable), printed and compared the way @huggingface/jinja does. Not a general JSON type: arrays and mappings
// are shared by reference, as in Jinja, so `ns.x = ...` inside a loop is seen outside it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgellm::jinja {

struct Value;
using Array = std::vector<Value>;

// A mapping that keeps insertion order (tojson and `for k in d` follow it, as in Python and JS).
struct Object {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
};

// A callable (a macro, namespace(), range(), a string's method): positional arguments and keyword arguments.
using Function = std::function<Value(std::vector<Value>& args, Object& kwargs)>;

enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Object, Namespace, Function };

struct Value {
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<Array> arr;
  std::shared_ptr<Object> obj;  // Object and Namespace
  std::shared_ptr<const Function> fn;

  static Value none() { return with(Kind::None); }
  static Value boolean(bool v) { Value x = with(Kind::Bool); x.b = v; return x; }
  static Value integer(int64_t v) { Value x = with(Kind::Int); x.i = v; return x; }
  static Value number(double v) { Value x = with(Kind::Float); x.f = v; return x; }
  static Value string(std::string v) { Value x = with(Kind::String); x.s = std::move(v); return x; }
  static Value array(Array v) { Value x = with(Kind::Array); x.arr = std::make_shared<Array>(std::move(v)); return x; }
  static Value object(Object v, Kind k = Kind::Object) { Value x = with(k); x.obj = std::make_shared<Object>(std::move(v)); return x; }
  static Value function(Function f) { Value x = with(Kind::Function); x.fn = std::make_shared<const Function>(std::move(f)); return x; }

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_numeric() const { return kind == Kind::Int || kind == Kind::Float; }
  double as_double() const { return kind == Kind::Int ? static_cast<double>(i) : kind == Kind::Bool ? (b ? 1 : 0) : f; }
  bool truthy() const;
  // The text `{{ v }}` writes (lists and mappings as JSON, floats with a ".0" when whole, booleans lower case).
  std::string str() const;
  // The text of the underlying JS primitive, which `+` and `~` concatenate (a whole float prints as "1").
  std::string primitive_str() const;
  const char* type_name() const;

 private:
  static Value with(Kind k) { Value x; x.kind = k; return x; }
};

struct JsonOptions {
  int indent = 0;  // 0: one line, ", " and ": " separators
  bool ensure_ascii = false;
  bool sort_keys = false;
  std::string item_sep, key_sep;  // empty: the defaults above
};
// JSON.stringify as @huggingface/jinja's tojson writes it. undefined_as_null=false writes "undefined" (str()).
std::string to_json(const Value& v, const JsonOptions& opt, int depth = 0, bool undefined_as_null = true);

Value from_json(const nlohmann::ordered_json& j);

// JavaScript's number-to-string (integers without ".0", shortest round trip otherwise).
std::string js_number(double d);
// Length in UTF-16 code units, as JS's String.length (what `|length` of a string gives there).
int64_t utf16_length(std::string_view s);
// The string split into code points (each a UTF-8 substring): slicing and indexing work on these.
std::vector<std::string> code_points(std::string_view s);
// JS's String.trim / trimStart / trimEnd: Unicode white space and line terminators.
std::string_view js_trim(std::string_view s, bool start, bool end);

}  // namespace edgellm::jinja
