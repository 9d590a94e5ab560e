// Reading the user's data within --mem-budget: whole files charged before they are read, lines charged as they grow.
// Not a parser: callers decide what the bytes mean.
#include "runtime/user_data.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/error.h"

namespace edgellm {

ArenaCharge& ArenaCharge::operator=(ArenaCharge&& o) noexcept {
  if (this != &o) {
    set(0);
    arena_ = o.arena_;
    what_ = std::move(o.what_);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

void ArenaCharge::set(size_t bytes) {
  if (bytes > bytes_) {
    arena_->charge(bytes - bytes_, what_.c_str());
  } else if (bytes < bytes_) {
    arena_->uncharge(bytes_ - bytes);
  }
  bytes_ = bytes;
}

namespace {

// Opens a user's file for reading; a directory or a missing file is an Error naming it and what it was for.
int open_user_file(const std::string& path, const std::string& purpose, struct stat& st) {
  if (::stat(path.c_str(), &st) != 0) fail("{}: cannot open {}: {}", path, purpose, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("{}: is a directory, not {}", path, purpose);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open {}: {}", path, purpose, std::strerror(errno));
  return fd;
}

ssize_t read_some(int fd, char* p, size_t n) {
  for (;;) {
    const ssize_t r = ::read(fd, p, n);
    if (r >= 0 || errno != EINTR) return r;
  }
}

}  // namespace

UserText read_user_file(const std::string& path, const std::string& purpose) {
  struct stat st {};
  const int fd = open_user_file(path, purpose, st);
  UserText out{ArenaCharge(fmt::format("{} ({})", path, purpose)), {}};
  try {
    const bool regular = S_ISREG(st.st_mode);
    const uint64_t budget = default_arena().budget();
    const uint64_t stream_max = budget ? budget : kUnbudgetedStreamMaxBytes;
    // A regular file: its size is charged before reading (refused at once if it cannot fit); one that grows while
    // being read is charged as a stream past that.
    if (regular) {
      out.charge.set(static_cast<size_t>(st.st_size) + 1);
      out.text.reserve(static_cast<size_t>(st.st_size) + 1);
    }
    constexpr size_t kStep = size_t{1} << 20;
    for (;;) {
      if (out.text.size() == out.text.capacity()) {
        if (!regular && out.text.size() >= stream_max)
          fail("{}: more than {} bytes, the most that is read from a pipe or device without --mem-budget", path,
               stream_max);
        const size_t want = std::max(out.text.size() + kStep, out.text.capacity() * 3 / 2);
        out.charge.set(out.text.capacity() + want);  // old and new buffer while the string moves
        out.text.reserve(want);
        out.charge.set(out.text.capacity());
      }
      const size_t have = out.text.size();
      out.text.resize(out.text.capacity());
      const ssize_t r = read_some(fd, out.text.data() + have, out.text.size() - have);
      if (r < 0) fail("{}: read error: {}", path, std::strerror(errno));
      out.text.resize(have + static_cast<size_t>(r));
      if (r == 0) break;
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return out;
}

LineReader::LineReader(const std::string& path, const std::string& purpose, size_t max_line)
    : path_(path), max_line_(max_line), charge_(fmt::format("{} ({}, one line)", path, purpose)) {
  struct stat st {};
  fd_ = open_user_file(path, purpose, st);
  constexpr size_t kBuf = size_t{64} << 10;
  try {
    charge_.set(kBuf);
  } catch (...) {
    ::close(fd_);
    throw;
  }
  buf_.resize(kBuf);
}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool LineReader::fill() {
  if (eof_) return false;
  const ssize_t r = read_some(fd_, buf_.data(), buf_.size());
  if (r < 0) fail("{}: read error after line {}: {}", path_, line_no_, std::strerror(errno));
  pos_ = 0;
  end_ = static_cast<size_t>(r);
  if (r == 0) eof_ = true;
  return r > 0;
}

bool LineReader::next(std::string_view& line) {
  line_.clear();
  bool any = false;
  for (;;) {
    if (pos_ == end_ && !fill()) break;
    any = true;
    const char* b = buf_.data() + pos_;
    const void* nl = std::memchr(b, '\n', end_ - pos_);
    const size_t n = nl ? static_cast<size_t>(static_cast<const char*>(nl) - b) : end_ - pos_;
    if (line_.size() + n > max_line_)
      fail_format(path_, fmt::format("line {}", line_no_ + 1), "longer than {} bytes, the most a line may hold",
                  max_line_);
    if (line_.size() + n > line_.capacity()) {
      const size_t want = std::min(max_line_, std::max(line_.size() + n, line_.capacity() * 2));
      charge_.set(buf_.size() + line_.capacity() + want);
      line_.reserve(want);
      charge_.set(buf_.size() + line_.capacity());
    }
    line_.append(b, n);
    pos_ += n;
    if (nl) {
      ++pos_;
      break;
    }
  }
  if (!any) return false;
  ++line_no_;
  line = line_;
  return true;
}

}  // namespace edgellm
