// Unicode NFC (canonical composition), as tokenizer.json's "NFC" normalizer asks (Qwen2/Qwen3): decompose,
// order combining marks, recompose. Not NFKC/NFKD (compatibility mappings) and not case folding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgellm::unicode {

// The NFC form of UTF-8 text; invalid bytes pass through unchanged. Tables: models/unicode_nfc_data.cpp,
// generated from node's normalize() (tools/unicode/gen_nfc_tables.mjs).
std::string nfc(std::string_view text);

namespace detail {
struct NfcClass { uint32_t cp; uint32_t rank; };  // rank of the canonical combining class, 1 = lowest
struct NfcDecomp { uint32_t cp; uint32_t at, len; };
struct NfcCompose { uint32_t first, second, composite; };
extern const NfcClass kNfcClasses[];
extern const size_t kNfcClasses_count;
extern const uint32_t kNfcDecompPool[];
extern const NfcDecomp kNfcDecomps[];
extern const size_t kNfcDecomps_count;
extern const NfcCompose kNfcComposes[];
extern const size_t kNfcComposes_count;
}  // namespace detail

}  // namespace edgellm::unicode
