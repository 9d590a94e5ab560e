// SHA-256 (FIPS 180-4) of a file or a byte string, as lowercase hex: the checksums of the study's
// committed bases and of fixture tensors in tests.
// Not a crypto library: no HMAC, no streaming API beyond what a file read needs.
#pragma once

#include <string>
#include <string_view>

namespace edgellm {

std::string sha256_hex(std::string_view bytes);
// Throws Error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace edgellm
