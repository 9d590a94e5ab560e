// AtomicFile: the target is replaced whole or not at all; a failed write (here a file-size
// limit standing in for a full disk) leaves the previous file intact and no temp file behind.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"

using namespace edgellm;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  const fs::path dir = fs::temp_directory_path() / "edgellm_test_atomic";
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

size_t temp_files(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("atomic_file: write, replace, pad, and abandon without commit") {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "a.bin").string();
  write_file_atomic(path, "first");
  CHECK(read_file(path) == "first");
  {
    AtomicFile f(path);
    f.write("abc");
    f.pad_to(8);
    CHECK(f.written() == 8);
    f.write(std::string(3 << 20, 'x'));  // more than the internal buffer
    f.commit();
  }
  const std::string got = read_file(path);
  CHECK(got.size() == 8 + (3u << 20));
  CHECK(got.substr(0, 8) == std::string("abc\0\0\0\0\0", 8));
  {
    AtomicFile f(path);
    f.write("never committed");
  }  // destroyed without commit: nothing changes
  CHECK(read_file(path).size() == 8 + (3u << 20));
  CHECK(temp_files(dir) == 0);
  CHECK_THROWS_AS(AtomicFile((dir / "missing" / "x").string()), Error);
}

TEST_CASE("atomic_file: a write that fails (file size limit, like a full disk) keeps the old file") {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "model.bin").string();
  write_file_atomic(path, "the previous version");
  rlimit old{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
  rlimit small = old;
  small.rlim_cur = 1 << 20;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  bool thrown = false;
  try {
    AtomicFile f(path);
    f.write(std::string(4 << 20, 'y'));
    f.commit();
  } catch (const Error& e) {
    thrown = true;
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(std::string(e.what()).find("unchanged") != std::string::npos);
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  CHECK(thrown);
  CHECK(read_file(path) == "the previous version");
  CHECK(temp_files(dir) == 0);
}
