// Tests of reading user data within --mem-budget: whole files charged before they are read, pipes and /dev/zero
// refused at the budget, lines bounded, directories named, charges given back; the output lock; errors that never
// quote a file's bytes. Not the verbs that use them: tests/tools/test_cli_faults.cpp runs those under a budget.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/error.h"
#include "runtime/file_lock.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"
#include "runtime/user_data.h"
#include "tests/runtime/temp_path.h"
#include "tests/test_util.h"

using namespace edgellm;
using edgellm::test::BudgetScope;
using edgellm::test::TempPath;

TEST_CASE("read_user_file: a file is read whole and charged while it lives; the charge is given back") {
  TempPath p("text.txt");
  p.write(std::string(300000, 'a') + "\nend");
  const size_t before = default_arena().in_use();
  {
    const UserText t = read_user_file(p.str(), "the text to score");
    CHECK(t.text.size() == 300004);
    CHECK(t.text.substr(300000) == "\nend");
    CHECK(default_arena().in_use() >= before + t.text.size());
  }
  CHECK(default_arena().in_use() == before);
}

TEST_CASE("read_user_file: over the budget is refused before reading, naming the file and the budget") {
  TempPath p("big.txt");
  p.write(std::string(4u << 20, 'x'));
  BudgetScope room(1u << 20);
  const size_t before = default_arena().in_use();
  CHECK_THROWS_WITH_AS(read_user_file(p.str(), "the text to score"),
                       doctest::Contains(p.str().c_str()), BudgetError);
  CHECK(default_arena().in_use() == before);
}

TEST_CASE("read_user_file: /dev/zero and a FIFO stop at the budget; a directory is named as one") {
  {
    BudgetScope room(3u << 20);
    CHECK_THROWS_WITH_AS(read_user_file("/dev/zero", "the text to score"),
                         doctest::Contains("/dev/zero"), BudgetError);
  }
  const std::string dir = std::filesystem::temp_directory_path().string();
  CHECK_THROWS_WITH_AS(read_user_file(dir, "the calibration text"), doctest::Contains((dir + ": is a directory").c_str()), Error);
  TempPath fifo("pipe");
  REQUIRE(::mkfifo(fifo.str().c_str(), 0600) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // a writer that sends 2 MiB and closes
    FILE* f = std::fopen(fifo.str().c_str(), "w");
    for (int i = 0; f && i < 2048; ++i) std::fwrite(std::string(1024, 'q').data(), 1, 1024, f);
    if (f) std::fclose(f);
    ::_exit(0);
  }
  const UserText t = read_user_file(fifo.str(), "the text to score");
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(t.text.size() == (2u << 20));
}

TEST_CASE("LineReader: lines in order, the per-line bound and the budget name the file and line") {
  TempPath p("lines.jsonl");
  p.write("one\n\ntwo\r\nthree");
  {
    LineReader r(p.str(), "the training data", 100);
    std::vector<std::string> got;
    for (std::string_view l; r.next(l);) got.emplace_back(l);
    CHECK(got == std::vector<std::string>{"one", "", "two\r", "three"});
    CHECK(r.line_no() == 4);
  }
  TempPath longp("long.jsonl");
  longp.write("short\n" + std::string(5000, 'y') + "\n");
  LineReader r(longp.str(), "the training data", 4096);
  std::string_view l;
  CHECK(r.next(l));
  CHECK_THROWS_WITH_AS(r.next(l), doctest::Contains((longp.str() + ": line 2: longer than 4096 bytes").c_str()), FormatError);
  BudgetScope room(2u << 20);
  LineReader z("/dev/zero", "the training data", size_t{1} << 30);
  CHECK_THROWS_WITH_AS(z.next(l), doctest::Contains("/dev/zero"), BudgetError);
}

TEST_CASE("ChargedVector: capacity is charged, growth included, and given back") {
  const size_t before = default_arena().in_use();
  {
    ChargedVector<int32_t> v("ids");
    for (int32_t i = 0; i < 100000; ++i) v.push_back(i);
    CHECK(v.size() == 100000);
    CHECK(v[99999] == 99999);
    CHECK(default_arena().in_use() >= before + 100000 * sizeof(int32_t));
  }
  CHECK(default_arena().in_use() == before);
  BudgetScope room(1u << 20);
  ChargedVector<int32_t> v("the text's tokens");
  CHECK_THROWS_WITH_AS(v.reserve(1u << 20), doctest::Contains("the text's tokens"), BudgetError);
}

TEST_CASE("OutputLock: a second writer, in this process or another, is refused at once; the lock goes with its holder") {
  TempPath out("out.gguf");
  {
    const OutputLock held(out.str(), OutputLock::Wait::Fail);
    // flock conflicts between open file descriptions, so a second lock in this process is a second writer.
    CHECK_THROWS_WITH_AS(OutputLock(out.str(), OutputLock::Wait::Fail),
                         doctest::Contains((out.str() + ": another edgellm run is writing this output").c_str()), Error);
  }
  const OutputLock again(out.str(), OutputLock::Wait::Fail);  // released with the first
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // another process while the parent holds it
    try {
      const OutputLock w(out.str(), OutputLock::Wait::Fail);
      ::_exit(1);  // should not have got it
    } catch (const Error&) {
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  std::filesystem::remove(out.str() + ".lock");
}

TEST_CASE("errors about a file that is not what it should be never quote its bytes (JSON and GGUF)") {
  const std::string secret = "root:x:0:0:root:/root:/bin/bash\nsecret-line\n";
  try {
    (void)parse_json_metered(secret, "/etc/passwd", "config");
    FAIL("not JSON, accepted");
  } catch (const FormatError& e) {
    const std::string what = e.what();
    CHECK(what.find("/etc/passwd: config: invalid JSON") != std::string::npos);
    CHECK(what.find("line 1") != std::string::npos);
    CHECK(what.find("root") == std::string::npos);
  }
  try {
    (void)GgufFile::parse(MappedFile::from_memory("/etc/passwd", secret));
    FAIL("not GGUF, accepted");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(what.find("not a GGUF file") != std::string::npos);
    CHECK(what.find("root") == std::string::npos);
    CHECK(what.find("72 6f") == std::string::npos);
  }
}
