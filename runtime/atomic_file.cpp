// POSIX temp-file + fsync + rename. On any failure the temp file is unlinked and the
// previous file at the target path stays intact.
#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
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

// "<path>.tmp.<pid>.XXXXXX" as a writable, NUL-terminated template for mkstemp/mkdtemp.
std::vector<char> temp_template(const std::string& path) {
  const std::string t = path + ".tmp." + std::to_string(::getpid()) + ".XXXXXX";
  return std::vector<char>(t.c_str(), t.c_str() + t.size() + 1);
}

void fsync_dir(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

// When process `pid` started, in seconds since the epoch; < 0 when it does not exist (or cannot be read).
double process_start_time(long pid) {
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(st, line)) return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM ? 0 : -1;
  // Field 22 (starttime, clock ticks since boot) counts from after the ")" that ends field 2, the command name.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {}
  std::ifstream stat("/proc/stat");
  double btime = -1;
  for (std::string key; stat >> key;)
    if (key == "btime") stat >> btime;
  if (btime < 0) return 0;  // unknown: the process is treated as older than any file
  return btime + std::strtod(field.c_str(), nullptr) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

size_t remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string dir = dir_of(path);
  const std::string prefix = fs::path(path).filename().string() + ".tmp.";
  size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    // "<pid>.XXXXXX": digits, a dot, six characters (mkstemp's).
    const std::string rest = name.substr(prefix.size());
    const size_t dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos || rest.size() != dot + 7 ||
        rest.find_first_not_of("0123456789") != dot)
      continue;
    const long pid = std::strtol(rest.substr(0, dot).c_str(), nullptr, 10);
    if (pid == ::getpid()) continue;  // this process's own writer (another thread)
    struct stat sb {};
    if (::lstat(it->path().c_str(), &sb) != 0) continue;
    const double started = process_start_time(pid);
    // Alive and started before the entry was last written: a live writer's (a 1 s margin for clock ticks).
    if (started >= 0 && started <= static_cast<double>(sb.st_mtime) + 1) continue;
    std::error_code rm;
    if (fs::remove_all(it->path(), rm) > 0 && !rm) ++removed;
  }
  return removed;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  remove_stale_temps(path_);
  std::vector<char> tmpl = temp_template(path_);
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
  fsync_dir(dir_of(path_));  // make the rename itself durable
}

void write_file_atomic(const std::string& path, std::string_view data) {
  AtomicFile f(path);
  f.write(data);
  f.commit();
}

void write_directory_atomic(const std::string& dir, const std::function<void(const std::string& tmp_dir)>& fill) {
  namespace fs = std::filesystem;
  std::string target = dir;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  remove_stale_temps(target);
  std::vector<char> tmpl = temp_template(target);
  if (!::mkdtemp(tmpl.data())) fail("{}: cannot create a temporary directory beside it: {}", target, std::strerror(errno));
  const std::string tmp = tmpl.data();
  ::chmod(tmp.c_str(), 0755);
  std::error_code ec;
  try {
    fill(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fsync_dir(tmp);
  // Swap when the target exists (rename(2) cannot replace a non-empty directory); the old one ends under the
  // temp name and is removed below, or by the next writer's remove_stale_temps if this process dies first.
  int rc = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE);
  if (rc != 0 && errno == ENOENT) rc = ::rename(tmp.c_str(), target.c_str());
  if (rc != 0 && errno == EINVAL) {  // a filesystem without the exchange: two renames, the old kept until the second
    std::vector<char> old = temp_template(target);
    if (::mkdtemp(old.data()) && ::rename(target.c_str(), old.data()) == 0) {
      rc = ::rename(tmp.c_str(), target.c_str());
      if (rc != 0) ::rename(old.data(), target.c_str());
      else fs::remove_all(old.data(), ec);
    }
  }
  if (rc != 0) {
    const int err = errno;
    fs::remove_all(tmp, ec);
    fail("{}: cannot move the new directory {} into place: {}", target, tmp, std::strerror(err));
  }
  fsync_dir(dir_of(target));
  fs::remove_all(tmp, ec);  // the old directory, if there was one
}

}  // namespace edgellm
