// Jinja values: truthiness, printing, JSON in and out, the UTF-8/UTF-16 bridges JS's string semantics need.
// Not the evaluator (eval.cpp) and not the filters; no locale-aware anything.
#include "models/jinja/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace edgellm::jinja {

const Value* Object::find(std::string_view key) const {
  for (const auto& kv : items)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

void Object::set(const std::string& key, Value v) {
  for (auto& kv : items)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::Undefined: case Kind::None: return false;
    case Kind::Bool: return b;
    case Kind::Int: return i != 0;
    case Kind::Float: return f != 0 && !std::isnan(f);
    case Kind::String: return !s.empty();
    case Kind::Array: return !arr->empty();
    case Kind::Object: return !obj->items.empty();
    case Kind::Namespace: case Kind::Function: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (kind) {
    case Kind::Undefined: return "undefined";
    case Kind::None: return "none";
    case Kind::Bool: return "boolean";
    case Kind::Int: return "integer";
    case Kind::Float: return "float";
    case Kind::String: return "string";
    case Kind::Array: return "list";
    case Kind::Object: return "mapping";
    case Kind::Namespace: return "namespace";
    case Kind::Function: return "callable";
  }
  return "?";
}

std::string js_number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == std::floor(d) && std::fabs(d) < 1e21) return fmt::format("{:.0f}", d == 0 ? 0.0 : d);
  return fmt::format("{}", d);
}

std::string Value::primitive_str() const {
  switch (kind) {
    case Kind::Bool: return b ? "true" : "false";
    case Kind::Int: return std::to_string(i);
    case Kind::Float: return js_number(f);
    case Kind::String: return s;
    case Kind::Undefined: return "";
    default: return str();
  }
}

std::string Value::str() const {
  switch (kind) {
    case Kind::Undefined: return "undefined";
    case Kind::None: return "null";
    case Kind::Float:
      if (f == 0 && std::signbit(f)) return "-0.0";
      return f == std::floor(f) && std::fabs(f) < 1e21 ? fmt::format("{:.1f}", f) : js_number(f);
    case Kind::Array: case Kind::Object: case Kind::Namespace: return to_json(*this, {}, 0, false);
    case Kind::Function: return "<function>";
    default: return primitive_str();
  }
}

namespace {

// Decodes one UTF-8 code point at s[i] (advancing i); invalid bytes come back as themselves.
uint32_t next_cp(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (i + n > s.size() || n == 1) {
    ++i;
    return c;
  }
  uint32_t cp = c & (0x7f >> n);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  i += n;
  return cp;
}

bool js_space(uint32_t c) {
  return c == ' ' || (c >= 9 && c <= 13) || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
         c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff;
}

std::string quote(std::string_view s, bool ascii) {
  std::string o = "\"";
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    const uint32_t c = next_cp(s, i);
    switch (c) {
      case '"': o += "\\\""; continue;
      case '\\': o += "\\\\"; continue;
      case '\b': o += "\\b"; continue;
      case '\f': o += "\\f"; continue;
      case '\n': o += "\\n"; continue;
      case '\r': o += "\\r"; continue;
      case '\t': o += "\\t"; continue;
      default: break;
    }
    if (c < 0x20) o += fmt::format("\\u{:04x}", c);
    else if (ascii && c >= 0x7f && c <= 0xffff) o += fmt::format("\\u{:04x}", c);
    else if (ascii && c > 0xffff) o += fmt::format("\\u{:04x}\\u{:04x}", 0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 0x3ff));
    else o.append(s.substr(at, i - at));
  }
  return o + "\"";
}

}  // namespace

int64_t utf16_length(std::string_view s) {
  int64_t n = 0;
  for (size_t i = 0; i < s.size();) n += next_cp(s, i) > 0xffff ? 2 : 1;
  return n;
}

std::vector<std::string> code_points(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    next_cp(s, i);
    out.emplace_back(s.substr(at, i - at));
  }
  return out;
}

std::string_view js_trim(std::string_view s, bool start, bool end) {
  size_t a = 0, b = s.size();
  if (start)
    while (a < b) {
      size_t i = a;
      if (!js_space(next_cp(s, i))) break;
      a = i;
    }
  if (end)
    while (b > a) {
      size_t k = b - 1;
      while (k > a && (static_cast<unsigned char>(s[k]) & 0xc0) == 0x80) --k;  // back to the lead byte
      size_t i = k;
      if (!js_space(next_cp(s, i))) break;
      b = k;
    }
  return s.substr(a, b - a);
}

std::string to_json(const Value& v, const JsonOptions& opt, int depth, bool undefined_as_null) {
  const std::string item_sep = !opt.item_sep.empty() ? opt.item_sep : opt.indent ? "," : ", ";
  const std::string key_sep = !opt.key_sep.empty() ? opt.key_sep : ": ";
  switch (v.kind) {
    case Kind::None: return "null";
    case Kind::Undefined: return undefined_as_null ? "null" : "undefined";
    case Kind::Bool: return v.b ? "true" : "false";
    case Kind::Int: return std::to_string(v.i);
    case Kind::Float: return std::isfinite(v.f) ? js_number(v.f) : "null";
    case Kind::String: return quote(v.s, opt.ensure_ascii);
    case Kind::Array: case Kind::Object: case Kind::Namespace: {
      const std::string pad = opt.indent ? std::string(static_cast<size_t>(opt.indent), ' ') : "";
      std::string base = "\n", child;
      for (int d = 0; d < depth; ++d) base += pad;
      child = base + pad;
      std::vector<std::string> core;
      if (v.kind == Kind::Array) {
        for (const Value& x : *v.arr) core.push_back(to_json(x, opt, depth + 1, undefined_as_null));
      } else {
        auto items = v.obj->items;
        if (opt.sort_keys) std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [k, x] : items)
          core.push_back((opt.indent ? child : "") + quote(k, opt.ensure_ascii) + key_sep + to_json(x, opt, depth + 1, undefined_as_null));
      }
      const bool arr = v.kind == Kind::Array;
      std::string o = arr ? "[" : "{";
      if (opt.indent && !core.empty() && arr) o += child;
      for (size_t k = 0; k < core.size(); ++k) o += (k ? item_sep + (opt.indent && arr ? child : "") : "") + core[k];
      if (opt.indent && !core.empty()) o += base;
      return o + (arr ? "]" : "}");
    }
    case Kind::Function: break;
  }
  fail("jinja: tojson: cannot convert a {} to JSON", v.type_name());
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned: return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_float: {
      // JS has one number type: a whole number read from JSON is an integer there ("1.0" too).
      const double d = j.get<double>();
      return d == std::floor(d) && std::fabs(d) < 9e15 ? Value::integer(static_cast<int64_t>(d)) : Value::number(d);
    }
    case nlohmann::ordered_json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array a;
      for (const auto& x : j) a.push_back(from_json(x));
      return Value::array(std::move(a));
    }
    case nlohmann::ordered_json::value_t::object: {
      Object o;
      for (const auto& [k, x] : j.items()) o.items.emplace_back(k, from_json(x));
      return Value::object(std::move(o));
    }
    default: break;
  }
  fail("jinja: a JSON value of type {} has no template value", j.type_name());
}

}  // namespace edgellm::jinja
