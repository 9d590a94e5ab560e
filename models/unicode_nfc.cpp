// NFC over the generated tables: canonical decomposition (Hangul by formula), canonical ordering of marks by
// class, then canonical composition where no mark of equal or higher class blocks. Not NFKC.
#include "models/unicode_nfc.h"

#include <algorithm>
#include <vector>

#include "models/unicode.h"

namespace edgellm::unicode {
namespace {

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint32_t rank(uint32_t cp) {
  const auto* b = detail::kNfcClasses;
  const auto* e = b + detail::kNfcClasses_count;
  const auto* it = std::lower_bound(b, e, cp, [](const detail::NfcClass& c, uint32_t x) { return c.cp < x; });
  return it != e && it->cp == cp ? it->rank : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto* b = detail::kNfcDecomps;
  const auto* e = b + detail::kNfcDecomps_count;
  const auto* it = std::lower_bound(b, e, cp, [](const detail::NfcDecomp& d, uint32_t x) { return d.cp < x; });
  if (it != e && it->cp == cp) out.insert(out.end(), detail::kNfcDecompPool + it->at, detail::kNfcDecompPool + it->at + it->len);
  else out.push_back(cp);
}

// The primary composite of (a, b), or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* bgn = detail::kNfcComposes;
  const auto* e = bgn + detail::kNfcComposes_count;
  const auto* it = std::lower_bound(bgn, e, std::pair{a, b}, [](const detail::NfcCompose& c, std::pair<uint32_t, uint32_t> x) {
    return c.first < x.first || (c.first == x.first && c.second < x.second);
  });
  return it != e && it->first == a && it->second == b ? it->composite : 0;
}

// NFC of a run of valid code points.
void nfc_run(const std::vector<uint32_t>& in, std::string& out) {
  std::vector<uint32_t> d;
  for (uint32_t cp : in) decompose(cp, d);
  // Canonical ordering: within each run of marks, a stable sort by class.
  for (size_t i = 0; i < d.size();) {
    if (rank(d[i]) == 0) { ++i; continue; }
    size_t j = i;
    while (j < d.size() && rank(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + static_cast<ptrdiff_t>(i), d.begin() + static_cast<ptrdiff_t>(j),
                     [](uint32_t a, uint32_t b) { return rank(a) < rank(b); });
    i = j;
  }
  // Composition: a mark joins the last starter unless a character in between has class 0 or >= its own.
  std::vector<uint32_t> c;
  ptrdiff_t starter = -1;
  uint32_t last = 0;  // class rank of the last character kept after the starter
  for (uint32_t cp : d) {
    const uint32_t r = rank(cp);
    if (starter >= 0) {
      const bool adjacent = static_cast<size_t>(starter) + 1 == c.size();
      if (adjacent || (last != 0 && last < r)) {
        if (uint32_t k = compose(c[static_cast<size_t>(starter)], cp)) {
          c[static_cast<size_t>(starter)] = k;
          continue;
        }
      }
    }
    if (r == 0) starter = static_cast<ptrdiff_t>(c.size());
    last = r;
    c.push_back(cp);
  }
  for (uint32_t cp : c) append_utf8(out, cp);
}

}  // namespace

std::string nfc(std::string_view text) {
  // Fast path: ASCII is already NFC.
  if (std::all_of(text.begin(), text.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; })) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::vector<uint32_t> run;
  for (size_t i = 0; i < text.size();) {
    const Decoded dc = decode_utf8(text, i);
    if (dc.cp == kInvalid) {
      nfc_run(run, out);
      run.clear();
      out += text[i];
    } else {
      run.push_back(dc.cp);
    }
    i += dc.len;
  }
  nfc_run(run, out);
  return out;
}

}  // namespace edgellm::unicode
