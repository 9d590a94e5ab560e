// NFC against node's String.prototype.normalize('NFC') on the cases that exercise each step: composition,
// canonical ordering of marks, blocking, singletons and exclusions, Hangul by formula, invalid bytes.
// The 420 npm strings through Qwen3's tokenizer (tests/tokenizer_npm) check it again on real text.
#include <doctest/doctest.h>

#include "models/unicode_nfc.h"

using edgellm::unicode::nfc;

TEST_CASE("unicode: NFC equals node's normalize('NFC')") {
  CHECK(nfc("plain ascii") == "plain ascii");
  CHECK(nfc("e\xCC\x81") == "\xC3\xA9");                             // e + U+0301 -> é
  CHECK(nfc("a\xCC\x96\xCC\x81") == "\xC3\xA1\xCC\x96");             // marks reordered by class, then composed: á + U+0316
  CHECK(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8") == "\xEA\xB0\x81");  // Hangul L V T -> U+AC01
  CHECK(nfc("\xEA\xB0\x80\xE1\x86\xA8") == "\xEA\xB0\x81");           // Hangul LV + T
  CHECK(nfc("\xE2\x84\xAB") == "\xC3\x85");                           // U+212B ANGSTROM SIGN (singleton) -> U+00C5
  CHECK(nfc("\xE0\xA5\x98") == "\xE0\xA4\x95\xE0\xA4\xBC");           // U+0958 is a composition exclusion
  CHECK(nfc("\xE1\xB8\x8B\xCC\xA3") == "\xE1\xB8\x8D\xCC\x87");       // U+1E0B + dot below -> U+1E0D + dot above
  CHECK(nfc("a\xCC\x81\xCC\x81") == "\xC3\xA1\xCC\x81");             // the second acute is blocked by the first
  CHECK(nfc("\xC3\x85\xCC\x81x") == "\xC7\xBA" "x");                  // Å + acute -> U+01FA
  CHECK(nfc("o\xCC\x88\xCC\x84") == "\xC8\xAB");                      // two levels: ö + macron -> U+022B
  CHECK(nfc("\xCC\x81" "a") == "\xCC\x81" "a");                       // a leading mark has nothing to join
  CHECK(nfc("x\xFF\xCC\x81y") == "x\xFF\xCC\x81y");                   // an invalid byte passes through and separates
}
