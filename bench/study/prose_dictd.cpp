// dictd databases (.index + .dict.dz) as prose documents, and gunzip (zlib) for their dictzip files
// and gzip'd manual pages. Not a dictd server: no lookups, only a pass over every entry.
#ifdef EDGELLM_HAVE_ZLIB
#include <zlib.h>
#endif

#include <algorithm>
#include <set>
#include <sstream>

#include "bench/study/prose.h"
#include "runtime/error.h"

namespace edgellm::study {

bool gunzip_available() {
#ifdef EDGELLM_HAVE_ZLIB
  return true;
#else
  return false;
#endif
}

std::string gunzip(std::string_view gz, const std::string& path) {
#ifndef EDGELLM_HAVE_ZLIB
  (void)gz;
  fail("{}: this edgellm was built without zlib (zlib1g-dev), so it cannot read gzip'd prose; install it and "
       "rebuild, or carry the prose exported elsewhere (pretrain --export-prose DIR, then --prose-dir DIR)", path);
#else
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) fail("{}: zlib inflateInit2 failed", path);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string msg = z.msg ? z.msg : "truncated or not gzip";
      inflateEnd(&z);
      fail_format(path, "gzip stream", "{} after {} bytes of output", msg, out.size());
    }
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      fail_format(path, "gzip stream", "truncated after {} bytes of output", out.size());
    }
  }
  inflateEnd(&z);
  return out;
#endif
}

namespace {

// dictd's numbers: base64 digits (A-Z a-z 0-9 + /), most significant first.
bool dict_number(std::string_view s, uint64_t& v) {
  static const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (s.empty() || s.size() > 10) return false;
  v = 0;
  for (char c : s) {
    const size_t d = digits.find(c);
    if (d == std::string::npos) return false;
    v = v * 64 + d;
  }
  return true;
}

// Removes every [ ... ] region (WordNet's [syn: ...] lists; they may span lines).
std::string drop_brackets(const std::string& s) {
  std::string out;
  int depth = 0;
  for (char c : s) {
    if (c == '[') ++depth;
    else if (c == ']' && depth > 0) --depth;
    else if (depth == 0) out += c;
  }
  return out;
}

// GCIDE: the pronunciation \Ab*do"men\ of the first line goes; so does a short line that is only a
// source tag ([1913 Webster], [PJC], [WordNet 1.5]).
std::string gcide_text(const std::string& entry) {
  std::string out;
  std::istringstream in(entry);
  bool first = true;
  for (std::string line; std::getline(in, line); first = false) {
    const size_t a = line.find_first_not_of(' ');
    if (a != std::string::npos && line[a] == '[' && line.back() == ']' && line.size() - a < 40 &&
        line.find('[', a + 1) == std::string::npos)
      continue;
    for (size_t p; first && (p = line.find('\\')) != std::string::npos;) {  // every headword's pronunciation
      const size_t q = line.find('\\', p + 1);
      if (q == std::string::npos) break;
      const size_t from = p > 0 && line[p - 1] == ' ' ? p - 1 : p;
      line.erase(from, q + 1 - from);
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::vector<ProseDocument> parse_dictd(std::string_view dict, std::string_view index, DictStyle style,
                                       const std::string& path) {
  std::vector<ProseDocument> docs;
  std::set<std::pair<uint64_t, uint64_t>> seen;  // entries several headwords point at are read once
  std::istringstream in{std::string(index)};
  int64_t lineno = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    if (line.empty()) continue;
    const size_t t1 = line.find('\t'), t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    uint64_t off = 0, len = 0;
    if (t2 == std::string::npos || !dict_number(std::string_view(line).substr(t1 + 1, t2 - t1 - 1), off) ||
        !dict_number(std::string_view(line).substr(t2 + 1, line.find('\t', t2 + 1) - t2 - 1), len))
      fail_format(path, fmt::format("index line {}", lineno), "expected 'headword<TAB>offset<TAB>length' in dictd's base64, got '{}'",
                  line.substr(0, 80));
    if (off > dict.size() || len > dict.size() - off)
      fail_format(path, fmt::format("index line {}", lineno), "entry [{}, +{}) is past the end of the {}-byte dictionary",
                  off, len, dict.size());
    const std::string head = line.substr(0, t1);
    if (head.rfind("00-database-", 0) == 0 || head.rfind("00database", 0) == 0) continue;
    if (!seen.insert({off, len}).second) continue;
    std::string entry(dict.substr(off, len));
    // Cross references {word}: the word stays.
    entry.erase(std::remove_if(entry.begin(), entry.end(), [](char c) { return c == '{' || c == '}'; }), entry.end());
    ProseDocument d{head + "@" + std::to_string(off), {}};
    // One text per entry, cut at sentence ends: a short sense keeps its headword beside it.
    if (style == DictStyle::WordNet) entry = drop_brackets(entry);
    if (style == DictStyle::Gcide) entry = gcide_text(entry);
    append_paragraphs(d.paragraphs, clean_paragraph(entry, true));
    if (!d.paragraphs.empty()) docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace edgellm::study
