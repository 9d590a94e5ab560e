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

#include "tests/tools/cli_process.h"

namespace {

struct Pty {
  pid_t pid = -1;
  int fd = -1;
  std::string seen;

  // Appends what the child wrote within `ms`; false once the child has closed the terminal (EIO).
  bool read_more(int ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return true;
    char buf[512];
    const ssize_t k = ::read(fd, buf, sizeof buf);
    if (k <= 0) return false;
    seen.append(buf, static_cast<size_t>(k));
    return true;
  }
  // Reads until `count` occurrences of `needle` have been seen in total, or 60 s pass, or the child is gone.
  bool wait_for(const std::string& needle, int count) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      int found = 0;
      for (size_t at = seen.find(needle); at != std::string::npos; at = seen.find(needle, at + needle.size())) ++found;
      if (found >= count) return true;
      if (std::chrono::steady_clock::now() > end || !read_more(200)) return false;
    }
  }
  void type(const std::string& s) { REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
  // Waits for the child's exit (after draining the terminal until it closes); its exit code, or -1.
  int finish() {
    wait_for("\x01never\x01", 1);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    ::close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

// `edgellm -t 1 chat <args>` on a new pseudo-terminal.
Pty start_chat(std::vector<std::string> args) {
  Pty t;
  std::fflush(nullptr);
  t.pid = ::forkpty(&t.fd, nullptr, nullptr, nullptr);
  REQUIRE(t.pid >= 0);
  if (t.pid == 0) {
    args.insert(args.begin(), "chat");
    edgellm::cli_test::exec_cli(args, {"-t", "1"});
  }
  return t;
}

}  // namespace

TEST_CASE("edgellm chat under a pty: two turns stream replies, Ctrl-D exits 0") {
  Pty t = start_chat({"-m", "builtin:tiny", "--chat-template", "chatml", "-n", "8", "--seed", "1"});
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
  CHECK(t.finish() == 0);
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

TEST_CASE("edgellm chat under a pty: Ctrl-C stops a long reply, not the program; /exit ends it") {
  // builtin:110m (random weights) with seed 1 runs on for hundreds of tokens, slowly enough to be interrupted.
  Pty t = start_chat({"-m", "builtin:110m", "--chat-template", "chatml", "-n", "100000", "-c", "1024", "--seed", "1"});
  REQUIRE(t.wait_for("\n> ", 1));
  t.type("tell me everything\n");
  REQUIRE(t.wait_for("everything", 1));
  const size_t echoed = t.seen.size();
  // Some of the reply first, then ^C (the terminal turns it into SIGINT for the foreground process).
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (t.seen.size() < echoed + 16 && std::chrono::steady_clock::now() < end) REQUIRE(t.read_more(200));
  t.type("\x03");
  REQUIRE(t.wait_for("[stopped]", 1));
  REQUIRE(t.wait_for("\n> ", 2));
  t.type("/exit\n");
  INFO("seen: ", t.seen);
  CHECK(t.finish() == 0);
}

TEST_CASE("edgellm chat: a model without a chat template is refused, naming --chat-template") {
  Pty t = start_chat({"-m", "builtin:tiny"});
  CHECK(t.finish() == 1);
  CHECK(t.seen.find("--chat-template") != std::string::npos);
}
