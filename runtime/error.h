// Errors as exceptions with messages built by fmt.
// Not a logging facility: callers decide whether to print, retry or abort.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace edgellm {

// Base error; every message says what was asked and why it failed.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file's content is malformed: names the file and the field at fault.
class FormatError : public Error {
 public:
  FormatError(std::string file, std::string field, const std::string& what)
      : Error(fmt::format("{}: {}: {}", file, field, what)), file_(std::move(file)), field_(std::move(field)) {}
  const std::string& file() const { return file_; }
  const std::string& field() const { return field_; }

 private:
  std::string file_, field_;
};

// An allocation would exceed the memory budget set by the user.
class BudgetError : public Error {
 public:
  using Error::Error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

template <class... Args>
[[noreturn]] void fail_format(const std::string& file, const std::string& field, fmt::format_string<Args...> f,
                              Args&&... args) {
  throw FormatError(file, field, fmt::format(f, std::forward<Args>(args)...));
}

// Human-readable byte count ("1.50 GiB (1610612736 bytes)" style is left to callers).
std::string format_bytes(size_t bytes);

// Parses "123", "64K", "512M", "2G", "1.5GiB" into bytes; throws Error on junk.
size_t parse_bytes(const std::string& text);

}  // namespace edgellm

#define EDGE_CHECK(cond, ...)                \
  do {                                       \
    if (!(cond)) ::edgellm::fail(__VA_ARGS__); \
  } while (0)
