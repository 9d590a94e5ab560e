// Shared glue for the libFuzzer targets: the entry point, the "expected rejection" rule, and the input bytes.
// Not a test helper for the doctest suite: a target lets every exception except edgellm::Error escape (a crash).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/error.h"

// Each target defines fuzz_one(bytes). edgellm::Error (and its FormatError/BudgetError) is a clean rejection
// of bad input; std::bad_alloc, std::length_error, nlohmann's exceptions, ASan/UBSan reports and signals are
// findings that must be fixed in the library.
void fuzz_one(std::string_view bytes);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    fuzz_one(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const edgellm::Error& e) {
    // expected: malformed input rejected with a message. EDGELLM_FUZZ_VERBOSE=1 prints it, to see how far a seed
    // gets (a seed rejected early fuzzes little of the loader).
    static const bool verbose = std::getenv("EDGELLM_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "edgellm-fuzz: rejected: %s\n", e.what());
  }
  return 0;
}
