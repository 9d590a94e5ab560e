// POSIX temp-file + fsync + rename. On any failure the temp file is unlinked and the
// previous file at the target path stays intact.
#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "runtime/error.h"

namespace edgellm {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  std::vector<char> tmpl(path_.begin(), path_.end());
  const char suffix[] = ".tmp.XXXXXX";
  tmpl.insert(tmpl.end(), suffix, suffix + sizeof(suffix));  // includes the NUL
  fd_ = ::mkstemp(tmpl.data());
  if (fd_ < 0) fail("{}: cannot create a temporary file beside it: {}", path_, std::strerror(errno));
  tmp_path_ = tmpl.data();
  ::fchmod(fd_, 0644);
  buf_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  }
}

void AtomicFile::flush() {
  size_t done = 0;
  while (done < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("{}: write failed after {} bytes: {} (the previous file, if any, is unchanged)", path_, written_,
           std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  buf_.clear();
}

void AtomicFile::write(const void* data, size_t n) {
  EDGE_CHECK(fd_ >= 0 && !committed_, "{}: write after commit", path_);
  const char* p = static_cast<const char*>(data);
  written_ += n;
  while (n > 0) {
    const size_t take = std::min(n, kBufferBytes - buf_.size());
    buf_.append(p, take);
    p += take;
    n -= take;
    if (buf_.size() == kBufferBytes) flush();
  }
}

void AtomicFile::pad_to(uint64_t alignment) {
  static const char zeros[64] = {};
  uint64_t pad = (alignment - written_ % alignment) % alignment;
  while (pad > 0) {
    const uint64_t take = std::min<uint64_t>(pad, sizeof(zeros));
    write(zeros, static_cast<size_t>(take));
    pad -= take;
  }
}

void AtomicFile::commit() {
  EDGE_CHECK(fd_ >= 0 && !committed_, "{}: commit twice", path_);
  flush();
  if (::fsync(fd_) != 0) fail("{}: fsync failed: {} (the previous file is unchanged)", path_, std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("{}: close failed: {} (the previous file is unchanged)", path_, std::strerror(errno));
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    fail("{}: cannot rename {} over it: {}", path_, tmp_path_, std::strerror(errno));
  committed_ = true;
  // Make the rename itself durable.
  const int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view data) {
  AtomicFile f(path);
  f.write(data);
  f.commit();
}

}  // namespace edgellm
