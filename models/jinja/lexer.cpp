// Jinja tokens, following @huggingface/jinja's lexer (the reference chat templates are rendered with), including
// its preprocessing. Not the grammar (parser.cpp); line statements and custom delimiters are not supported.
#include "models/jinja/lexer.h"

#include "models/jinja/value.h"
#include "runtime/error.h"

namespace edgellm::jinja {

std::string where(std::string_view name, std::string_view source, size_t pos) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < source.size(); ++i) {
    if (source[i] == '\n') ++line, col = 1;
    else if ((static_cast<unsigned char>(source[i]) & 0xc0) != 0x80) ++col;
  }
  return fmt::format("{}:{}:{}", name, line, col);
}

namespace {

// Text with each byte's offset in the original source, so positions survive the preprocessing.
struct Mapped {
  std::string text;
  std::vector<size_t> pos;
  void add(char c, size_t p) { text += c; pos.push_back(p); }
};

// lstrip_blocks: spaces/tabs at a line start before "{#", "{%" or "{-" go; trim_blocks: a newline right after
// "#}", "%}" or "-}" goes. The same textual rules as the reference, applied one after the other.
Mapped preprocess(std::string_view src) {
  if (!src.empty() && src.back() == '\n') src.remove_suffix(1);
  Mapped a;
  for (size_t i = 0; i < src.size();) {
    if (i == 0 || src[i - 1] == '\n' || src[i - 1] == '\r') {
      size_t k = i;
      while (k < src.size() && (src[k] == ' ' || src[k] == '\t')) ++k;
      if (k + 1 < src.size() && src[k] == '{' && (src[k + 1] == '#' || src[k + 1] == '%' || src[k + 1] == '-')) i = k;
    }
    // Two characters at a time would miss a line start right after this one; one at a time is enough.
    a.add(src[i], i);
    ++i;
  }
  Mapped b;
  for (size_t i = 0; i < a.text.size(); ++i) {
    b.add(a.text[i], a.pos[i]);
    const char c = a.text[i];
    if ((c == '#' || c == '%' || c == '-') && i + 2 < a.text.size() && a.text[i + 1] == '}' && a.text[i + 2] == '\n') {
      b.add('}', a.pos[i + 1]);
      i += 2;
    }
  }
  return b;
}

bool is_word(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The length of the JS white space (\s) at s[i], 0 if none.
size_t space_at(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  const std::string_view rest = s.substr(i, std::min<size_t>(4, s.size() - i));
  size_t n = 1;
  const auto c = static_cast<unsigned char>(s[i]);
  if (c >= 0xc0) n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
  return js_trim(rest.substr(0, std::min(n, rest.size())), true, false).empty() ? n : 0;
}

}  // namespace

std::vector<Token> tokenize(std::string_view source, std::string_view name) {
  const Mapped m = preprocess(source);
  const std::string& s = m.text;
  const size_t n = s.size();
  std::vector<Token> out;
  size_t cur = 0;
  int brace_depth = 0;
  auto at = [&](size_t i) { return i < n ? m.pos[i] : source.size(); };
  auto error = [&](size_t i, const std::string& what) -> Error {
    return Error(fmt::format("{}: {}", where(name, source, at(i)), what));
  };
  auto push = [&](Tok t, std::string v, size_t p) { out.push_back({t, std::move(v), at(p)}); };
  auto strip_trailing = [&] {  // "{%-": the text before loses its trailing white space
    if (!out.empty() && out.back().type == Tok::Text) {
      out.back().value = std::string(js_trim(out.back().value, false, true));
      if (out.back().value.empty()) out.pop_back();
    }
  };
  auto skip_leading = [&] {  // "-%}": the text after loses its leading white space
    while (size_t k = space_at(s, cur)) cur += k;
  };

  while (cur < n) {
    const Tok last = out.empty() ? Tok::Text : out.back().type;
    if (out.empty() || last == Tok::CloseStatement || last == Tok::CloseExpression || last == Tok::Comment) {
      size_t end = cur;
      while (true) {
        end = s.find('{', end);
        if (end == std::string::npos) { end = n; break; }
        if (end + 1 < n && (s[end + 1] == '%' || s[end + 1] == '{' || s[end + 1] == '#')) break;
        ++end;
      }
      if (end > cur) {
        push(Tok::Text, s.substr(cur, end - cur), cur);
        cur = end;
        continue;
      }
    }
    if (s[cur] == '{' && cur + 1 < n) {
      const char next = s[cur + 1];
      if (next == '#') {
        const size_t start = cur;
        cur += 2;
        const bool strip_before = cur < n && s[cur] == '-';
        if (strip_before) ++cur;
        const size_t end = s.find("#}", cur);
        if (end == std::string::npos) throw error(start, "comment '{#' is never closed with '#}'");
        std::string text = s.substr(cur, end - cur);
        const bool strip_after = !text.empty() && text.back() == '-';
        if (strip_after) text.pop_back();
        if (strip_before) strip_trailing();
        push(Tok::Comment, text, start);
        cur = end + 2;
        if (strip_after) skip_leading();
        continue;
      }
      if (cur + 2 < n && s[cur + 2] == '-' && (next == '%' || next == '{')) {
        strip_trailing();
        push(next == '%' ? Tok::OpenStatement : Tok::OpenExpression, next == '%' ? "{%" : "{{", cur);
        if (next == '{') brace_depth = 0;
        cur += 3;
        continue;
      }
    }
    // White space inside a tag separates tokens and is dropped.
    while (size_t k = space_at(s, cur)) cur += k;
    if (cur >= n) throw error(cur, "the template ends inside a tag");
    const char c = s[cur];
    if (c == '-' && cur + 2 < n && s[cur + 2] == '}' && (s[cur + 1] == '%' || s[cur + 1] == '}')) {
      push(s[cur + 1] == '%' ? Tok::CloseStatement : Tok::CloseExpression, s[cur + 1] == '%' ? "%}" : "}}", cur);
      cur += 3;
      skip_leading();
      continue;
    }
    if ((c == '-' || c == '+') && !out.empty()) {
      const Tok t = out.back().type;
      if (t == Tok::Text) throw error(cur, fmt::format("unexpected character '{}'", c));
      const bool binary = t == Tok::Identifier || t == Tok::Number || t == Tok::String || t == Tok::CloseParen ||
                          t == Tok::CloseBracket;
      if (!binary) {  // a sign: (-1), [-1], not -1, -x
        const size_t start = cur++;
        std::string num;
        while (cur < n && is_digit(s[cur])) num += s[cur++];
        if (!num.empty() && cur + 1 < n && s[cur] == '.' && is_digit(s[cur + 1])) {
          num += s[cur++];
          while (cur < n && is_digit(s[cur])) num += s[cur++];
        }
        push(num.empty() ? Tok::Unary : Tok::Number, std::string(1, c) + num, start);
        continue;
      }
    }
    static const std::pair<const char*, Tok> kSymbols[] = {
        {"{%", Tok::OpenStatement}, {"%}", Tok::CloseStatement}, {"{{", Tok::OpenExpression}, {"}}", Tok::CloseExpression},
        {"(", Tok::OpenParen}, {")", Tok::CloseParen}, {"{", Tok::OpenBrace}, {"}", Tok::CloseBrace},
        {"[", Tok::OpenBracket}, {"]", Tok::CloseBracket}, {",", Tok::Comma}, {".", Tok::Dot}, {":", Tok::Colon},
        {"|", Tok::Pipe}, {"<=", Tok::Compare}, {">=", Tok::Compare}, {"==", Tok::Compare}, {"!=", Tok::Compare},
        {"<", Tok::Compare}, {">", Tok::Compare}, {"+", Tok::Additive}, {"-", Tok::Additive}, {"~", Tok::Additive},
        {"**", Tok::Power}, {"*", Tok::Multiplicative}, {"//", Tok::Multiplicative}, {"/", Tok::Multiplicative},
        {"%", Tok::Multiplicative}, {"=", Tok::Equals}};
    bool matched = false;
    for (const auto& [sym, type] : kSymbols) {
      const std::string_view v(sym);
      if (v == "}}" && brace_depth > 0) continue;  // inside a {...} literal, "}}" closes two braces
      if (s.compare(cur, v.size(), v) != 0) continue;
      push(type, std::string(v), cur);
      if (type == Tok::OpenExpression) brace_depth = 0;
      else if (type == Tok::OpenBrace) ++brace_depth;
      else if (type == Tok::CloseBrace) --brace_depth;
      cur += v.size();
      matched = true;
      break;
    }
    if (matched) continue;
    if (c == '\'' || c == '"') {
      const size_t start = cur++;
      std::string str;
      while (true) {
        if (cur >= n) throw error(start, "string literal is never closed");
        const char ch = s[cur++];
        if (ch == c) break;
        if (ch != '\\') { str += ch; continue; }
        if (cur >= n) throw error(start, "string literal is never closed");
        const char e = s[cur++];
        switch (e) {
          case 'n': str += '\n'; break;
          case 't': str += '\t'; break;
          case 'r': str += '\r'; break;
          case 'b': str += '\b'; break;
          case 'f': str += '\f'; break;
          case 'v': str += '\v'; break;
          case '\'': case '"': case '\\': str += e; break;
          default: throw error(cur - 2, fmt::format("unsupported escape sequence '\\{}' in a string literal", e));
        }
      }
      push(Tok::String, std::move(str), start);
      continue;
    }
    if (is_digit(c)) {
      const size_t start = cur;
      std::string num;
      while (cur < n && is_digit(s[cur])) num += s[cur++];
      if (last != Tok::Dot && cur + 1 < n && s[cur] == '.' && is_digit(s[cur + 1])) {
        num += s[cur++];
        while (cur < n && is_digit(s[cur])) num += s[cur++];
      }
      push(Tok::Number, std::move(num), start);
      continue;
    }
    if (is_word(c)) {
      const size_t start = cur;
      while (cur < n && is_word(s[cur])) ++cur;
      push(Tok::Identifier, s.substr(start, cur - start), start);
      continue;
    }
    throw error(cur, fmt::format("unexpected character '{}'", c));
  }
  return out;
}

}  // namespace edgellm::jinja
