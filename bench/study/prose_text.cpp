// The paragraph (ASCII normalization, cleaning, cutting to size) and the two plain-text readers:
// fortune files and groff manual pages. Not the dictd reader (prose_dictd.cpp) nor the corpus (prose_corpus.cpp).
#include <algorithm>
#include <cctype>
#include <sstream>

#include "bench/study/prose.h"

namespace edgellm::study {

namespace {

// ASCII forms of U+00C0..U+00FF (Latin-1 letters lose their accents; × and ÷ become x and /).
const char* const kLatin1[64] = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",  //
    "D", "N", "O", "O", "O", "O", "O",  "x", "O", "U", "U", "U", "U", "Y", "Th", "ss",  //
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",  //
    "d", "n", "o", "o", "o", "o", "o",  "/", "o", "u", "u", "u", "u", "y", "th", "y"};

const char* ascii_of(uint32_t cp) {
  if (cp >= 0xC0 && cp <= 0xFF) return kLatin1[cp - 0xC0];
  switch (cp) {
    case 0xA0: case 0x2002: case 0x2003: case 0x2004: case 0x2005: case 0x2006: case 0x2007: case 0x2008:
    case 0x2009: case 0x200A: return " ";
    case 0x2018: case 0x2019: case 0x201A: case 0x2032: case 0xB4: return "'";
    case 0x201C: case 0x201D: case 0x201E: case 0x2033: case 0xAB: case 0xBB: return "\"";
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2212: return "-";
    case 0x2014: case 0x2015: return "--";
    case 0x2026: return "...";
    case 0x2022: case 0xB7: return "*";
    case 0x152: return "OE";
    case 0x153: return "oe";
    default: return "";
  }
}

}  // namespace

std::string ascii_normalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    // A well-formed sequence of 2-4 bytes, else one dropped byte.
    const int n = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = n > 0 && i + static_cast<size_t>(n) <= s.size();
    uint32_t cp = n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
    for (int k = 1; ok && k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      ok = (c & 0xC0) == 0x80;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    if (!ok) {
      ++i;
      continue;
    }
    out += ascii_of(cp);
    i += static_cast<size_t>(n);
  }
  return out;
}

std::string clean_paragraph(std::string_view raw, bool reflow) {
  std::string text;
  for (char c : ascii_normalize(raw)) {
    if (c == '\t') c = ' ';
    const auto uc = static_cast<unsigned char>(c);
    if (c != '\n' && (uc < 0x20 || uc == 0x7f)) continue;
    text += static_cast<char>(std::tolower(uc));
  }
  std::string res;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (reflow) {
      // One line: every run of spaces and line breaks becomes a single space.
      for (char c : line)
        if (c != ' ' || (!res.empty() && res.back() != ' ')) res += c;
      if (!res.empty() && res.back() != ' ') res += ' ';
    } else if (line != "%") {
      res += line + "\n";
    }
  }
  const size_t a = res.find_first_not_of(" \n");
  if (a == std::string::npos) return "";
  const size_t b = res.find_last_not_of(" \n");
  return res.substr(a, b - a + 1);
}

void append_paragraphs(std::vector<std::string>& out, const std::string& cleaned) {
  std::string rest = cleaned;
  auto trim_front = [](std::string& s) { s.erase(0, std::min(s.size(), s.find_first_not_of(" \n"))); };
  while (rest.size() > kMaxParagraph) {
    // The last sentence or line end that keeps the piece within the bound; else the last space.
    size_t cut = std::string::npos;
    for (size_t p = kMaxParagraph - 1; p >= kMinParagraph && cut == std::string::npos; --p)
      if (rest[p] == '\n' || ((rest[p] == '.' || rest[p] == '?' || rest[p] == '!') && rest[p + 1] == ' ')) cut = p + 1;
    if (cut == std::string::npos) {
      const size_t sp = rest.rfind(' ', kMaxParagraph);
      cut = sp != std::string::npos && sp > 0 ? sp : kMaxParagraph;
    }
    std::string piece = rest.substr(0, cut);
    while (!piece.empty() && (piece.back() == ' ' || piece.back() == '\n')) piece.pop_back();
    if (piece.size() >= kMinParagraph) out.push_back(std::move(piece));
    rest.erase(0, cut);
    trim_front(rest);
  }
  if (rest.size() >= kMinParagraph) out.push_back(std::move(rest));
}

// ---- fortunes -----------------------------------------------------------------------------------

std::vector<ProseDocument> parse_fortunes(std::string_view text, const std::string& file_key) {
  std::vector<ProseDocument> docs;
  std::string entry;
  int64_t n = 0;
  auto flush = [&] {
    ProseDocument d{file_key + ":" + std::to_string(n++), {}};
    append_paragraphs(d.paragraphs, clean_paragraph(entry, false));
    if (!d.paragraphs.empty()) docs.push_back(std::move(d));
    entry.clear();
  };
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "%") flush();
    else entry += line + "\n";
  }
  if (!entry.empty()) flush();
  return docs;
}

// ---- groff manual pages -------------------------------------------------------------------------

namespace {

// Named characters \(xx and \[xx] in words; the rest are dropped.
std::string named_char(const std::string& n) {
  if (n == "em") return "--";
  if (n == "en" || n == "hy" || n == "mi") return "-";
  if (n == "aq" || n == "oq" || n == "cq" || n == "fm") return "'";
  if (n == "dq" || n == "lq" || n == "rq") return "\"";
  if (n == "bu") return "*";
  if (n == "co") return "(c)";
  if (n == "mu") return "x";
  if (n == "rs") return "\\";
  if (n == "ti" || n == "ap") return "~";
  if (n == "ha") return "^";
  if (n == "lh" || n == "rh") return "";
  return "";
}

// Text of a line with groff escapes resolved (fonts and sizes dropped, characters named in words).
std::string unescape(const std::string& s) {
  std::string out;
  auto bracketed = [&](size_t& i) {  // after the escape letter: x, (xx or [name]; returns the name
    if (i >= s.size()) return std::string();
    if (s[i] == '(') {
      std::string n = s.substr(i + 1, 2);
      i += 3;
      return n;
    }
    if (s[i] == '[') {
      const size_t e = s.find(']', i);
      std::string n = s.substr(i + 1, e == std::string::npos ? std::string::npos : e - i - 1);
      i = e == std::string::npos ? s.size() : e + 1;
      return n;
    }
    return std::string(1, s[i++]);
  };
  auto quoted = [&](size_t& i) {  // \X'...': skip the quoted argument
    if (i < s.size()) {
      const char q = s[i];
      const size_t e = s.find(q, i + 1);
      i = e == std::string::npos ? s.size() : e + 1;
    }
  };
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i++];
      continue;
    }
    const char e = s[i + 1];
    i += 2;
    switch (e) {
      case '"': return out;  // a comment to the end of the line
      case 'f': case 'F': case 'n': case 'g': case 'k': case 'm': case 'M': case 'Y': bracketed(i); break;
      case '*': {
        const std::string n = bracketed(i);
        out += n == "lq" || n == "rq" ? "\"" : n == "R" ? "(r)" : n == "Tm" ? "(tm)" : "";
        break;
      }
      case '(': case '[': --i; out += named_char(bracketed(i)); break;
      case 's':
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (i < s.size() && (s[i] == '(' || s[i] == '[')) bracketed(i);
        else while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        break;
      case 'N': case 'v': case 'h': case 'w': case 'o': case 'l': case 'L': case 'D': case 'X': case 'b': case 'x':
      case 'A': case 'B': case 'C': case 'Z': case 'R': case 'S': quoted(i); break;
      case '-': out += '-'; break;
      case 'e': case '\\': out += '\\'; break;
      case '~': case ' ': case '0': out += ' '; break;
      case '\'': out += '\''; break;
      case '`': out += '`'; break;
      case '.': out += '.'; break;
      default: break;  // \& \| \^ \c \% \: \/ \, \{ \} and the unknown: nothing printed
    }
  }
  return out;
}

// Arguments of a macro line: words, "quoted words" kept whole.
std::vector<std::string> macro_args(const std::string& rest) {
  std::vector<std::string> a;
  for (size_t i = 0; i < rest.size();) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i >= rest.size()) break;
    std::string w;
    if (rest[i] == '"') {
      ++i;
      while (i < rest.size() && rest[i] != '"') w += rest[i++];
      ++i;
    } else {
      while (i < rest.size() && rest[i] != ' ') w += rest[i++];
    }
    a.push_back(w);
  }
  return a;
}

bool skipped_section(std::string h) {
  for (char& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // Code, cross-reference lists and the boilerplate every page of a project repeats.
  return h == "SYNOPSIS" || h == "SEE ALSO" || h == "COLOPHON" || h == "COPYRIGHT" || h == "AUTHORS" ||
         h == "AUTHOR" || h == "REPORTING BUGS" || h == "VERSIONS" || h == "STANDARDS";
}

}  // namespace

ProseDocument parse_groff(std::string_view source, const std::string& key) {
  ProseDocument doc{key, {}};
  std::string para, skip_until;
  bool skip_section = false;
  auto flush = [&] {
    if (!skip_section) append_paragraphs(doc.paragraphs, clean_paragraph(para, true));
    para.clear();
  };
  std::istringstream in{std::string(source)};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const bool request = !line.empty() && (line[0] == '.' || line[0] == '\'');
    std::string name, rest;
    if (request) {
      size_t i = 1;
      while (i < line.size() && line[i] == ' ') ++i;
      const size_t e = line.find(' ', i);
      name = line.substr(i, e == std::string::npos ? std::string::npos : e - i);
      rest = e == std::string::npos ? "" : line.substr(e + 1);
    }
    if (!skip_until.empty()) {
      if (request && name == skip_until) skip_until.clear();
      continue;
    }
    if (!request) {
      if (line.find_first_not_of(' ') == std::string::npos) flush();
      else para += unescape(line) + "\n";
      continue;
    }
    if (name.rfind("\\\"", 0) == 0 || name.empty()) continue;  // a comment or an empty request
    if (name == "so") {
      doc.paragraphs.clear();  // a link to another page: nothing of its own
      return doc;
    }
    if (name == "SH" || name == "SS") {
      flush();
      if (name == "SH") {
        std::string h = unescape(rest);
        h.erase(std::remove(h.begin(), h.end(), '"'), h.end());
        skip_section = skipped_section(h);
      }
      continue;
    }
    if (name == "nf" || name == "EX" || name == "TS" || name == "EQ" || name == "de" || name == "ig") {
      flush();
      skip_until = name == "nf" ? "fi" : name == "EX" ? "EE" : name == "TS" ? "TE" : name == "EQ" ? "EN" : "..";
      continue;
    }
    if (name == "PP" || name == "P" || name == "LP" || name == "TP" || name == "IP" || name == "HP" ||
        name == "TQ" || name == "sp" || name == "RS" || name == "RE") {
      flush();
      continue;
    }
    // Font macros: their arguments are text (alternating fonts join without spaces).
    const bool alternating = name == "BR" || name == "RB" || name == "IR" || name == "RI" || name == "BI" || name == "IB";
    if (alternating || name == "B" || name == "I" || name == "SM" || name == "SB") {
      std::string t;
      for (const std::string& a : macro_args(rest)) t += (t.empty() || alternating ? "" : " ") + a;
      para += unescape(t) + "\n";
      continue;
    }
    // Every other request (TH, UR, ad, in, ft, ...) prints nothing of its own.
  }
  flush();
  return doc;
}

}  // namespace edgellm::study
