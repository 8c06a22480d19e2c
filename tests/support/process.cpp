#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "temp_dir.hpp"

extern char** environ;

namespace eg::test {

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string output_path)
    : output_path_(std::move(output_path)) {
  spawn(argv, false);
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string output_path, PipeStdout)
    : output_path_(std::move(output_path)) {
  spawn(argv, true);
}

void ChildProcess::spawn(std::vector<std::string>& argv, bool pipe_stdout) {
  int pipe_fds[2] = {-1, -1};
  // Close-on-exec, so no other child the test starts meanwhile holds the write
  // end (the reader would then never see EOF); dup2 into the child clears it.
  if (pipe_stdout && ::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed for " + argv[0]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (pipe_stdout) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, output_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (pipe_stdout) {
    ::close(pipe_fds[1]);
    if (rc == 0)
      stdout_fd_ = pipe_fds[0];
    else
      ::close(pipe_fds[0]);
  }
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::to_string(rc));
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) stop(std::chrono::seconds(2));
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling waitpid, bounded by the deadline
  }
}

bool ChildProcess::running() {
  return !wait_exit(std::chrono::milliseconds(0));
}

void ChildProcess::signal(int sig) {
  if (!exit_code_) ::kill(pid_, sig);
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (exit_code_) return *exit_code_;
  ::kill(pid_, SIGTERM);
  if (auto code = wait_exit(grace)) return *code;
  ::kill(pid_, SIGKILL);
  return wait_exit(std::chrono::seconds(10)).value_or(-1);
}

std::string ChildProcess::output() const {
  std::ifstream in(output_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

CommandResult run_command(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  TempDir dir;
  ChildProcess child(std::move(argv), dir.path() + "/output");
  auto code = child.wait_exit(timeout);
  if (!code) code = child.stop();
  return {*code, child.output()};
}

}  // namespace eg::test
