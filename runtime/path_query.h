// Existence queries on user- or file-supplied paths that never throw. std::filesystem's plain overloads raise
// filesystem_error (not an edgellm::Error) on a name the OS rejects, such as one longer than NAME_MAX; here such a
// name counts as absent, and the open that follows fails with an Error naming it.
#pragma once

#include <filesystem>
#include <system_error>

namespace edgellm {

inline bool path_exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

inline bool is_directory_path(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec);
}

}  // namespace edgellm
