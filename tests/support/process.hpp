// A child process the test owns: started with posix_spawn, output to files,
// stopped (SIGTERM, then SIGKILL) when the object dies, even if a test fails.
// With PipeStdout, stdout is a pipe the test reads (stderr still goes to the file).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace eg::test {

struct PipeStdout {};

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string output_path);
  // stdout to a pipe (read it from stdout_fd()), stderr to `output_path`.
  ChildProcess(std::vector<std::string> argv, std::string output_path, PipeStdout);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The exit code if it has exited (waits up to `timeout`), nullopt otherwise.
  // A death by signal N reports 128 + N.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  void signal(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(3));
  std::string output() const;
  // The read end of the stdout pipe (PipeStdout only, else -1); closed when the
  // object dies. It reads EOF once the child has exited.
  int stdout_fd() const { return stdout_fd_; }

 private:
  void spawn(std::vector<std::string>& argv, bool pipe_stdout);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::optional<int> exit_code_;
  std::string output_path_;
};

// Runs a command to completion (bounded by `timeout`) and returns its exit code
// and combined output.
struct CommandResult {
  int exit_code;
  std::string output;
};
CommandResult run_command(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace eg::test
