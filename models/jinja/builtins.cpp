// Filters, tests, methods and equality of the Jinja subset, each mirroring @huggingface/jinja (runtime.ts), quirks
// included where a chat template can see them: str.strip('\n') ignores its argument and trims all white space,
// as there. Not Unicode case mapping: upper/lower/title change ASCII letters only.
#include "models/jinja/builtins.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace edgellm::jinja {
namespace {

[[noreturn]] void fault(std::string m) { throw Fault{std::move(m)}; }

std::string ascii_case(std::string s, bool upper) {
  for (char& c : s) c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
  return s;
}
bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string title(std::string s) {  // JS: replace(/\b\w/g, upper)
  for (size_t i = 0; i < s.size(); ++i)
    if (word_char(s[i]) && (i == 0 || !word_char(s[i - 1]))) s[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
  return s;
}

std::vector<std::string> split_on(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t a = 0;
  for (size_t b; (b = s.find(sep, a)) != std::string::npos; a = b + sep.size()) out.push_back(s.substr(a, b - a));
  out.push_back(s.substr(a));
  return out;
}

Value strings(const std::vector<std::string>& xs) {
  Array a;
  for (const std::string& x : xs) a.push_back(Value::string(x));
  return Value::array(std::move(a));
}

Value split(const std::string& s, std::vector<Value>& args) {
  const Value sep = args.size() > 0 ? args[0] : Value::none();
  const Value maxv = args.size() > 1 ? args[1] : Value::integer(-1);
  if (sep.kind != Kind::String && sep.kind != Kind::None) fault("split(): the separator must be a string or none");
  if (maxv.kind != Kind::Int) fault("split(): maxsplit must be an integer");
  const int64_t max = maxv.i;
  std::vector<std::string> out;
  if (sep.kind == Kind::None) {  // runs of white space, leading white space ignored
    const std::string_view t = js_trim(s, true, false);
    size_t i = 0;
    while (i < t.size()) {
      size_t j = i;
      while (j < t.size() && !js_trim(t.substr(j, 1), true, false).empty()) ++j;
      if (max >= 0 && static_cast<int64_t>(out.size()) >= max) {
        out.emplace_back(t.substr(i));
        break;
      }
      out.emplace_back(t.substr(i, j - i));
      i = j;
      while (i < t.size() && js_trim(t.substr(i, 1), true, false).empty()) ++i;
    }
  } else {
    if (sep.s.empty()) fault("split(): empty separator");
    out = split_on(s, sep.s);
    if (max >= 0 && static_cast<int64_t>(out.size()) > max) {
      std::string rest;
      for (size_t k = static_cast<size_t>(max); k < out.size(); ++k) rest += (k > static_cast<size_t>(max) ? sep.s : "") + out[k];
      out.resize(static_cast<size_t>(max));
      out.push_back(rest);
    }
  }
  return strings(out);
}

Value replace(const std::string& s, std::vector<Value>& args, Object& kwargs) {
  if (args.size() < 2) fault("replace() requires at least two arguments");
  if (args[0].kind != Kind::String || args[1].kind != Kind::String) fault("replace() arguments must be strings");
  Value count = args.size() > 2 ? args[2] : Value::none();
  if (const Value* c = kwargs.find("count")) count = *c;
  if (count.kind != Kind::Int && count.kind != Kind::None) fault("replace() count must be an integer or none");
  int64_t left = count.kind == Kind::None || count.i < 0 ? INT64_MAX : count.i;
  const std::string &from = args[0].s, &to = args[1].s;
  std::string out;
  if (from.empty()) {  // an insertion at every code point boundary, as JS's /(?=)/gu
    for (const std::string& cp : code_points(s)) {
      if (left > 0) out += to, --left;
      out += cp;
    }
    if (left > 0) out += to;
    return Value::string(out);
  }
  size_t a = 0;
  for (size_t b; left > 0 && (b = s.find(from, a)) != std::string::npos; a = b + from.size(), --left) out += s.substr(a, b - a) + to;
  return Value::string(out + s.substr(a));
}

bool affix(const std::string& s, const Value& p, bool start, const char* name) {
  auto one = [&](const std::string& x) { return start ? s.starts_with(x) : s.ends_with(x); };
  if (p.kind == Kind::String) return one(p.s);
  if (p.kind == Kind::Array) {
    for (const Value& x : *p.arr) {
      if (x.kind != Kind::String) fault(fmt::format("{}() tuple elements must be strings", name));
      if (one(x.s)) return true;
    }
    return false;
  }
  fault(fmt::format("{}() argument must be a string or a tuple of strings", name));
}

Value items_of(const Object& o) {
  Array a;
  for (const auto& [k, v] : o.items) a.push_back(Value::array({Value::string(k), v}));
  return Value::array(std::move(a));
}

int compare(const Value& a, const Value& b, bool case_sensitive) {
  if (a.kind == Kind::None && b.kind == Kind::None) return 0;
  const auto numeric = [](const Value& v) { return v.is_numeric() || v.kind == Kind::Bool; };
  if (numeric(a) && numeric(b)) return a.as_double() < b.as_double() ? -1 : a.as_double() > b.as_double() ? 1 : 0;
  if (a.kind == Kind::String && b.kind == Kind::String) {
    const std::string x = case_sensitive ? a.s : ascii_case(a.s, false), y = case_sensitive ? b.s : ascii_case(b.s, false);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  fault(fmt::format("cannot compare a {} with a {}", a.type_name(), b.type_name()));
}

const Value* arg(std::vector<Value>& args, Object& kwargs, size_t i, const char* key) {
  if (i < args.size()) return &args[i];
  return kwargs.find(key);
}

}  // namespace

bool strict_equal(const Value& a, const Value& b) {
  if (a.is_numeric() && b.is_numeric()) return a.as_double() == b.as_double();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Undefined: case Kind::None: return true;
    case Kind::Bool: return a.b == b.b;
    case Kind::String: return a.s == b.s;
    case Kind::Array: return a.arr == b.arr;
    case Kind::Object: case Kind::Namespace: return a.obj == b.obj;
    case Kind::Function: return a.fn == b.fn;
    default: return false;
  }
}

bool loose_equal(const Value& a, const Value& b) {
  const auto nullish = [](const Value& v) { return v.kind == Kind::None || v.kind == Kind::Undefined; };
  if (nullish(a) || nullish(b)) return nullish(a) && nullish(b);
  const auto scalar = [](const Value& v) { return v.is_numeric() || v.kind == Kind::Bool || v.kind == Kind::String; };
  if (scalar(a) && scalar(b) && (a.kind != Kind::String || b.kind != Kind::String) && a.kind != b.kind) {
    auto num = [](const Value& v) {  // JS's ToNumber (whole-string parse; "" is 0)
      if (v.kind != Kind::String) return v.as_double();
      const std::string_view t = js_trim(v.s, true, true);
      if (t.empty()) return 0.0;
      char* end = nullptr;
      const std::string z(t);
      const double d = std::strtod(z.c_str(), &end);
      return end == z.c_str() + z.size() ? d : NAN;
    };
    return num(a) == num(b);
  }
  return strict_equal(a, b);
}

Value builtin_member(const Value& x, const std::string& name) {
  if (x.kind == Kind::String) {
    const std::string s = x.s;
    auto fn = [](auto f) { return Value::function(f); };
    if (name == "length") return Value::integer(utf16_length(s));
    if (name == "upper") return fn([s](auto&, auto&) { return Value::string(ascii_case(s, true)); });
    if (name == "lower") return fn([s](auto&, auto&) { return Value::string(ascii_case(s, false)); });
    if (name == "title") return fn([s](auto&, auto&) { return Value::string(title(s)); });
    if (name == "capitalize")
      return fn([s](auto&, auto&) { std::string t = s; if (!t.empty()) t[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(t[0]))); return Value::string(t); });
    // As the reference: the characters argument of strip/lstrip/rstrip is ignored (all white space goes).
    if (name == "strip") return fn([s](auto&, auto&) { return Value::string(std::string(js_trim(s, true, true))); });
    if (name == "lstrip") return fn([s](auto&, auto&) { return Value::string(std::string(js_trim(s, true, false))); });
    if (name == "rstrip") return fn([s](auto&, auto&) { return Value::string(std::string(js_trim(s, false, true))); });
    if (name == "startswith" || name == "endswith")
      return fn([s, name](std::vector<Value>& a, Object&) {
        if (a.empty()) fault(fmt::format("{}() requires an argument", name));
        return Value::boolean(affix(s, a[0], name == "startswith", name.c_str()));
      });
    if (name == "split") return fn([s](std::vector<Value>& a, Object&) { return split(s, a); });
    if (name == "replace") return fn([s](std::vector<Value>& a, Object& k) { return replace(s, a, k); });
    return {};
  }
  if (x.kind == Kind::Array) return name == "length" ? Value::integer(static_cast<int64_t>(x.arr->size())) : Value{};
  if (x.kind == Kind::Object) {
    const std::shared_ptr<Object> o = x.obj;
    if (name == "items") return Value::function([o](auto&, auto&) { return items_of(*o); });
    if (name == "keys")
      return Value::function([o](auto&, auto&) { Array a; for (const auto& kv : o->items) a.push_back(Value::string(kv.first)); return Value::array(a); });
    if (name == "values")
      return Value::function([o](auto&, auto&) { Array a; for (const auto& kv : o->items) a.push_back(kv.second); return Value::array(a); });
    if (name == "get")
      return Value::function([o](std::vector<Value>& a, Object&) {
        if (a.empty() || a[0].kind != Kind::String) fault("get(): the key must be a string");
        if (const Value* v = o->find(a[0].s)) return *v;
        return a.size() > 1 ? a[1] : Value::none();
      });
  }
  return {};
}

bool apply_test(const std::string& name, const Value& x) {
  if (name == "defined") return x.kind != Kind::Undefined;
  if (name == "undefined") return x.kind == Kind::Undefined;
  if (name == "none") return x.kind == Kind::None;
  if (name == "string") return x.kind == Kind::String;
  if (name == "boolean") return x.kind == Kind::Bool;
  if (name == "false") return x.kind == Kind::Bool && !x.b;
  if (name == "true") return x.kind == Kind::Bool && x.b;
  if (name == "number") return x.is_numeric();
  if (name == "integer") return x.kind == Kind::Int;
  if (name == "iterable") return x.kind == Kind::Array || x.kind == Kind::String;
  if (name == "mapping") return x.kind == Kind::Object;
  if (name == "sequence") return x.kind == Kind::Array || x.kind == Kind::Object || x.kind == Kind::String;
  if (name == "callable") return x.kind == Kind::Function;
  if (name == "lower") return x.kind == Kind::String && x.s == ascii_case(x.s, false);
  if (name == "upper") return x.kind == Kind::String && x.s == ascii_case(x.s, true);
  if (name == "odd" || name == "even") {
    if (x.kind != Kind::Int) fault(fmt::format("test '{}' needs an integer, got a {}", name, x.type_name()));
    return (x.i % 2 != 0) == (name == "odd");
  }
  fault(fmt::format("unsupported test '{}'", name));
}

Value apply_filter(const std::string& name, const Value& x, std::vector<Value>& args, Object& kwargs, bool called) {
  auto unsupported = [&]() -> Value { fault(fmt::format("unsupported filter '{}' on a {}", name, x.type_name())); };
  if (name == "safe" && !called) return x;
  if (name == "tojson") {
    JsonOptions o;
    if (const Value* v = kwargs.find("indent"); v && v->kind != Kind::None) {
      if (v->kind != Kind::Int) fault("tojson: indent must be an integer");
      o.indent = static_cast<int>(v->i);
    }
    if (const Value* v = kwargs.find("ensure_ascii")) o.ensure_ascii = v->truthy();
    if (const Value* v = kwargs.find("sort_keys")) o.sort_keys = v->truthy();
    if (const Value* v = kwargs.find("separators"); v && v->kind == Kind::Array) {
      if (v->arr->size() != 2 || (*v->arr)[0].kind != Kind::String || (*v->arr)[1].kind != Kind::String)
        fault("tojson: separators must be two strings");
      o.item_sep = (*v->arr)[0].s;
      o.key_sep = (*v->arr)[1].s;
    }
    return Value::string(to_json(x, o));
  }
  if (called && name == "default") {
    const Value d = args.empty() ? Value::string("") : args[0];
    const Value* flag = arg(args, kwargs, 1, "boolean");
    return x.kind == Kind::Undefined || (flag && flag->truthy() && !x.truthy()) ? d : x;
  }
  if (called && name == "join") {
    const Value* sep = arg(args, kwargs, 0, "separator");
    const std::string s = sep ? sep->s : "";
    std::string out;
    if (x.kind == Kind::String) {
      const auto cps = code_points(x.s);
      for (size_t k = 0; k < cps.size(); ++k) out += (k ? s : "") + cps[k];
    } else if (x.kind == Kind::Array) {
      for (size_t k = 0; k < x.arr->size(); ++k) out += (k ? s : "") + (*x.arr)[k].primitive_str();
    } else {
      return unsupported();
    }
    return Value::string(out);
  }
  if (x.kind == Kind::Array) {
    const Array& a = *x.arr;
    if (!called) {
      if (name == "list") return x;
      if (name == "first") return a.empty() ? Value{} : a.front();
      if (name == "last") return a.empty() ? Value{} : a.back();
      if (name == "length") return Value::integer(static_cast<int64_t>(a.size()));
      if (name == "reverse") return Value::array(Array(a.rbegin(), a.rend()));
      if (name == "join") { std::string o; for (const Value& v : a) o += v.primitive_str(); return Value::string(o); }
      if (name == "string") return Value::string(to_json(x, {}, 0, false));
      if (name == "sort") {
        Array s = a;
        std::stable_sort(s.begin(), s.end(), [](const Value& p, const Value& q) { return compare(p, q, false) < 0; });
        return Value::array(std::move(s));
      }
      if (name == "unique") {
        Array o;
        for (const Value& v : a)
          if (std::none_of(o.begin(), o.end(), [&](const Value& w) { return strict_equal(v, w); })) o.push_back(v);
        return Value::array(std::move(o));
      }
      return unsupported();
    }
    if (name == "selectattr" || name == "rejectattr") {
      const bool select = name == "selectattr";
      if (args.empty() || args[0].kind != Kind::String) fault(fmt::format("{}: the attribute name must be a string", name));
      Array o;
      for (const Value& item : a) {
        if (item.kind != Kind::Object && item.kind != Kind::Namespace) fault(fmt::format("{} applies to a list of mappings only", name));
        const Value* v = item.obj->find(args[0].s);
        bool r = false;
        if (v && args.size() > 2 && (args[1].s == "equalto" || args[1].s == "eq")) r = strict_equal(*v, args[2]);
        else if (v) r = args.size() > 1 ? apply_test(args[1].s, *v) : v->truthy();
        if (r == select) o.push_back(item);
      }
      return Value::array(std::move(o));
    }
    if (name == "map") {
      const Value* attr = kwargs.find("attribute");
      if (!attr || attr->kind != Kind::String) fault("map: only map(attribute='name') is supported");
      Array o;
      for (const Value& item : a) {
        if (item.kind != Kind::Object && item.kind != Kind::Namespace) fault("map: the items must be mappings");
        const Value* v = item.obj->find(attr->s);
        const Value* d = kwargs.find("default");
        o.push_back(v ? *v : d ? *d : Value{});
      }
      return Value::array(std::move(o));
    }
    return unsupported();
  }
  if (x.kind == Kind::String) {
    if (!called) {
      if (name == "length") return Value::integer(utf16_length(x.s));
      if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
        Value f = builtin_member(x, name);
        std::vector<Value> none;
        Object nk;
        return (*f.fn)(none, nk);
      }
      if (name == "trim") return Value::string(std::string(js_trim(x.s, true, true)));
      if (name == "string" || name == "join") return x;
      if (name == "int") return Value::integer(std::strtoll(x.s.c_str(), nullptr, 10));
      if (name == "float") return Value::number(std::strtod(x.s.c_str(), nullptr));
    }
    if (name == "indent") {
      const Value* w = arg(args, kwargs, 0, "width");
      const Value* first = arg(args, kwargs, 1, "first");
      const Value* blank = arg(args, kwargs, 2, "blank");
      const std::string pad = !w ? "    " : w->kind == Kind::String ? w->s : std::string(static_cast<size_t>(std::max<int64_t>(0, w->i)), ' ');
      const auto lines = split_on(x.s, "\n");
      std::string o;
      for (size_t k = 0; k < lines.size(); ++k)
        o += (k ? "\n" : "") + (((!(first && first->truthy()) && k == 0) || (!(blank && blank->truthy()) && lines[k].empty())) ? "" : pad) + lines[k];
      return Value::string(o);
    }
    if (called && name == "replace") return replace(x.s, args, kwargs);
    return unsupported();
  }
  if (x.is_numeric() && !called) {
    if (name == "abs") return x.kind == Kind::Int ? Value::integer(std::llabs(x.i)) : Value::number(std::fabs(x.f));
    if (name == "int") return Value::integer(x.kind == Kind::Int ? x.i : static_cast<int64_t>(std::trunc(x.f)));
    if (name == "float") return Value::number(x.as_double());
    if (name == "string") return Value::string(x.str());
    return unsupported();
  }
  if (x.kind == Kind::Object) {
    if (!called && name == "items") return items_of(*x.obj);
    if (!called && name == "length") return Value::integer(static_cast<int64_t>(x.obj->items.size()));
    Value f = builtin_member(x, name);
    if (f.kind == Kind::Function) return (*f.fn)(args, kwargs);
    return unsupported();
  }
  if (x.kind == Kind::Bool && !called) {
    if (name == "bool") return x;
    if (name == "int") return Value::integer(x.b ? 1 : 0);
    if (name == "float") return Value::number(x.b ? 1 : 0);
    if (name == "string") return Value::string(x.b ? "true" : "false");
  }
  return unsupported();
}

}  // namespace edgellm::jinja
