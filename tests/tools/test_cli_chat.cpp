// `edgellm chat` under a real pseudo-terminal (forkpty): two typed turns each stream a reply, Ctrl-D ends with
// exit 0. Not the session logic (tests/models/test_chat_session.cpp): what a user at a terminal sees.
#include <doctest/doctest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

struct Pty {
  pid_t pid = -1;
  int fd = -1;
  std::string seen;

  // Reads until `count` occurrences of `needle` have been seen in total, or 60 s pass.
  bool wait_for(const std::string& needle, int count) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      int found = 0;
      for (size_t at = seen.find(needle); at != std::string::npos; at = seen.find(needle, at + needle.size())) ++found;
      if (found >= count) return true;
      if (std::chrono::steady_clock::now() > end) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[512];
      const ssize_t k = ::read(fd, buf, sizeof buf);
      if (k <= 0) return false;  // EIO: the child closed the terminal
      seen.append(buf, static_cast<size_t>(k));
    }
  }
  void type(const std::string& s) { REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
};

}  // namespace

TEST_CASE("edgellm chat under a pty: two turns stream replies, Ctrl-D exits 0") {
  Pty t;
  std::fflush(nullptr);
  t.pid = ::forkpty(&t.fd, nullptr, nullptr, nullptr);
  REQUIRE(t.pid >= 0);
  if (t.pid == 0) {
    std::vector<std::string> args = {EDGELLM_CLI_PATH, "-t", "1", "chat", "-m", "builtin:tiny", "--chat-template",
                                     "chatml", "-n", "8", "--seed", "1"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // The prompt is "\n> ": printed at start and after each reply.
  REQUIRE(t.wait_for("\n> ", 1));
  const size_t start1 = t.seen.size();
  t.type("hello there\n");
  REQUIRE(t.wait_for("\n> ", 2));
  const std::string turn1 = t.seen.substr(start1);
  const size_t start2 = t.seen.size();
  t.type("and again\n");
  REQUIRE(t.wait_for("\n> ", 3));
  const std::string turn2 = t.seen.substr(start2);
  t.type("\x04");  // Ctrl-D at the start of a line: EOF in the terminal's canonical mode
  t.wait_for("\x01never\x01", 1);  // drain until the child closes the terminal
  int status = 0;
  REQUIRE(::waitpid(t.pid, &status, 0) == t.pid);
  ::close(t.fd);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // Each turn: the terminal's echo of the typed line, then a reply of some text before the next prompt.
  INFO("turn 1: ", turn1);
  INFO("turn 2: ", turn2);
  const auto reply_len = [](const std::string& turn, const std::string& typed) {
    const size_t echo = turn.find(typed);
    const size_t prompt = turn.rfind("\n> ");
    return echo == std::string::npos || prompt == std::string::npos ? 0 : prompt - (echo + typed.size());
  };
  CHECK(reply_len(turn1, "hello there") > 2);
  CHECK(reply_len(turn2, "and again") > 2);
}
