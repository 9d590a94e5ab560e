// AtomicFile: the target is replaced whole or not at all; a failed write (here a file-size
// limit standing in for a full disk) leaves the previous file intact and no temp file behind.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
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

TEST_CASE("atomic_file: temps of dead writers are removed on the next write; a live writer's and pid-less ones stay") {
  const fs::path dir = temp_dir();
  const std::string path = (dir / "out.bin").string();
  // 4194305 is above the kernel's PID_MAX_LIMIT: no process has it. The parent of this test is alive and older.
  write_file_atomic(path + ".tmp.4194305.abcDEF", "dead writer's");
  write_file_atomic(path + ".tmp." + std::to_string(::getppid()) + ".ghiJKL", "live writer's");
  write_file_atomic(path + ".tmp.mnoPQR", "older edgellm's, no pid");
  write_file_atomic((dir / "other.bin.tmp.4194305.abcDEF").string(), "another target's");
  write_file_atomic(path + ".tmp.4194305.toolong7", "not our pattern");
  CHECK(remove_stale_temps(path) == 1);
  CHECK_FALSE(fs::exists(path + ".tmp.4194305.abcDEF"));
  CHECK(fs::exists(path + ".tmp." + std::to_string(::getppid()) + ".ghiJKL"));
  CHECK(fs::exists(path + ".tmp.mnoPQR"));
  CHECK(fs::exists(dir / "other.bin.tmp.4194305.abcDEF"));
  CHECK(fs::exists(path + ".tmp.4194305.toolong7"));
  // A live pid whose process started after the temp was last written is a reused pid: the temp is stale.
  const std::string reused = path + ".tmp." + std::to_string(::getpid() == 1 ? 2 : ::getppid()) + ".stuVWX";
  write_file_atomic(reused, "x");
  fs::last_write_time(reused, fs::file_time_type::clock::now() - std::chrono::hours(24 * 365 * 30));
  CHECK(remove_stale_temps(path) == 1);
  CHECK_FALSE(fs::exists(reused));
  // AtomicFile does it itself.
  write_file_atomic(path + ".tmp.4194305.abcDEF", "dead writer's");
  write_file_atomic(path, "new");
  CHECK_FALSE(fs::exists(path + ".tmp.4194305.abcDEF"));
  fs::remove_all(dir);
}

TEST_CASE("write_directory_atomic: the new directory replaces the old whole; a failing fill leaves the old") {
  const fs::path dir = temp_dir();
  const std::string d = (dir / "adapter").string();
  write_directory_atomic(d, [](const std::string& tmp) { write_file_atomic(tmp + "/a", "1"); write_file_atomic(tmp + "/b", "1"); });
  CHECK(read_file(d + "/a") == "1");
  write_directory_atomic(d, [](const std::string& tmp) { write_file_atomic(tmp + "/a", "2"); });
  CHECK(read_file(d + "/a") == "2");
  CHECK_FALSE(fs::exists(d + "/b"));  // not a merge: the old directory went whole
  CHECK_THROWS_AS(write_directory_atomic(d, [](const std::string& tmp) {
                    write_file_atomic(tmp + "/a", "3");
                    throw Error("disk full");
                  }),
                  Error);
  CHECK(read_file(d + "/a") == "2");
  CHECK(temp_files(dir) == 0);
  fs::remove_all(dir);
}
