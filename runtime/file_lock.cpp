// flock(2) on OUTPUT.lock for the writers of indexes, adapters and models.
// Not a lock on the output file itself: outputs are replaced by rename (runtime/atomic_file.h), a new inode each time.
#include "runtime/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "runtime/error.h"

namespace edgellm {

OutputLock::OutputLock(const std::string& path, Wait wait) {
  const std::string lock = path + ".lock";
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0 && errno == ENOENT) {  // the output's folder does not exist yet: its writer would create it
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(lock).parent_path(), ec);
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  }
  if (fd_ < 0) fail("{}: cannot create the lock file {}: {}", path, lock, std::strerror(errno));
  int r;
  do {
    r = ::flock(fd_, LOCK_EX | (wait == Wait::Fail ? LOCK_NB : 0));
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    const int e = errno;
    ::close(fd_);
    if (e == EWOULDBLOCK) fail("{}: another edgellm run is writing this output (it holds {})", path, lock);
    fail("{}: cannot lock {}: {}", path, lock, std::strerror(e));
  }
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace edgellm
