// The edgellm CLI as a child process, for the CLI tests: start it with its output in a log file, wait for its
// exit code (and peak RSS), read a file whole. Not a general process library: fork + execv of EDGELLM_CLI_PATH.
#pragma once

#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace edgellm::cli_test {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// In a forked child: becomes `edgellm <global> <args>`; exits 127 when the binary cannot be run.
[[noreturn]] inline void exec_cli(const std::vector<std::string>& args, const std::vector<std::string>& global) {
  std::vector<std::string> all = {EDGELLM_CLI_PATH};
  all.insert(all.end(), global.begin(), global.end());
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

// Starts `edgellm <global> <args>`, stdout and stderr to `log`; single-threaded unless `global` says otherwise.
inline pid_t spawn(const std::vector<std::string>& args, const std::string& log,
                   const std::vector<std::string>& global = {"-t", "1"}) {
  std::cout.flush();
  std::fflush(nullptr);  // or the child's exit would write the parent's buffered output a second time
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // One open file for both streams (dup2), so stdout's buffer, flushed at exit, cannot overwrite stderr's lines.
    if (!std::freopen(log.c_str(), "w", stdout) || ::dup2(::fileno(stdout), ::fileno(stderr)) < 0) ::_exit(120);
    exec_cli(args, global);
  }
  return pid;
}

struct Exit {
  int code = 0;          // the exit status, or 128 + the signal that ended it
  long max_rss_kib = 0;  // the child's peak resident set (ru_maxrss)
};

inline Exit wait_exit(pid_t pid) {
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ru.ru_maxrss};
}

inline int wait_code(pid_t pid) { return wait_exit(pid).code; }

// Runs `edgellm <args>` (no global options) to completion and returns its exit code.
inline int run_cli(const std::vector<std::string>& args, const std::string& log) { return wait_code(spawn(args, log, {})); }

}  // namespace edgellm::cli_test
