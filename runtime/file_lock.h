// An advisory lock (flock) on an output path, held for a writer's whole read-modify-write, so that two processes
// updating one file (rag index --add) both land, and two runs writing one output do not clobber each other.
// Not a guard against writers that do not take it, and not for network file systems without flock.
#pragma once

#include <string>

namespace edgellm {

class OutputLock {
 public:
  // Block: wait for the other writer (an update that merges with what it wrote). Fail: refuse at once with an Error
  // naming the path (a second run writing the same output is a mistake; waiting would only clobber later).
  enum class Wait { Block, Fail };
  // Locks the file `path + ".lock"` (created, with its folder, if missing; left in place: removing it would race
  // with a waiter).
  OutputLock(const std::string& path, Wait wait);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace edgellm
