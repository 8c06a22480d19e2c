#include "sia_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#ifndef EG_SIA_RECEIVER_MODULE
#error "EG_SIA_RECEIVER_MODULE (path of iobroker.sia's build/lib/sia.js) must be defined"
#endif
#ifndef EG_SIA_RECEIVER_SCRIPT
#error "EG_SIA_RECEIVER_SCRIPT (path of tests/support/sia_receiver.js) must be defined"
#endif

namespace eg::test {

namespace {

int bound_socket(int type, std::uint16_t port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

std::string text_of(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::uint16_t free_port_tcp_and_udp() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int tcp = bound_socket(SOCK_STREAM, 0);
    if (tcp < 0) continue;
    std::uint16_t port = local_port(tcp);
    int udp = bound_socket(SOCK_DGRAM, port);
    ::close(tcp);
    if (udp >= 0) {
      ::close(udp);
      return port;
    }
  }
  throw std::runtime_error("no port of 127.0.0.1 free for both TCP and UDP");
}

std::string sia_receiver_module() {
  return EG_SIA_RECEIVER_MODULE;
}
std::string sia_receiver_script() {
  return EG_SIA_RECEIVER_SCRIPT;
}

SiaReceiver::SiaReceiver(std::uint16_t port, std::string account, std::string key_hex,
                         std::chrono::milliseconds startup_deadline)
    : port_(port) {
  std::string module = sia_receiver_module();
  if (!std::filesystem::exists(module))
    throw std::runtime_error("the SIA DC-09 receiver (npm iobroker.sia 2.0.4) is not installed: " + module +
                             " is missing. Run scripts/install-sia-receiver (scripts/test does).");
  std::vector<std::string> argv{"node",      sia_receiver_script(), "--module", module,
                                "--host",    "127.0.0.1",           "--port",   std::to_string(port),
                                "--account", std::move(account)};
  if (!key_hex.empty()) {
    argv.emplace_back("--key");
    argv.push_back(std::move(key_hex));
  }
  try {
    process_ = std::make_unique<ChildProcess>(std::move(argv), dir_.file("sia_receiver.log"), PipeStdout{});
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) +
                             " (is node installed? scripts/install-sia-receiver installs nodejs and npm)");
  }
  reader_ = std::thread([this] { read_stdout(); });
  bool ready = false;
  {
    std::unique_lock lock(mutex_);
    ready = changed_.wait_for(lock, startup_deadline, [&] { return ready_ || eof_; }) && ready_;
  }
  if (!ready) {
    finish();
    throw std::runtime_error("the SIA receiver did not get ready on port " + std::to_string(port) + ": " + log());
  }
}

SiaReceiver::~SiaReceiver() {
  finish();
}

void SiaReceiver::finish() {
  if (process_) process_->stop();
  if (reader_.joinable()) reader_.join();
}

void SiaReceiver::stop() {
  finish();
}

void SiaReceiver::kill() {
  if (process_) {
    process_->signal(SIGKILL);
    process_->wait_exit(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

bool SiaReceiver::running() {
  return process_ && process_->running();
}

void SiaReceiver::read_stdout() {
  std::string buffer;
  char chunk[4096];
  while (true) {
    ssize_t n = ::read(process_->stdout_fd(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t end;
    while ((end = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, end);
      buffer.erase(0, end + 1);
      std::lock_guard lock(mutex_);
      if (line.rfind("READY ", 0) == 0) {
        ready_ = true;
      } else {
        auto object = nlohmann::json::parse(line, nullptr, false);
        if (object.is_object()) {
          messages_.push_back({text_of(object, "id"), text_of(object, "seq"), text_of(object, "rpref"),
                               text_of(object, "lpref"), text_of(object, "act"), text_of(object, "data_message"),
                               text_of(object, "data_extended"), text_of(object, "ts"), text_of(object, "error")});
        } else {
          other_lines_.push_back(line);
        }
      }
      changed_.notify_all();
    }
  }
  std::lock_guard lock(mutex_);
  if (!buffer.empty()) other_lines_.push_back(buffer);
  eof_ = true;
  changed_.notify_all();
}

std::vector<SiaMessage> SiaReceiver::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

bool SiaReceiver::wait_for(const std::function<bool(const std::vector<SiaMessage>&)>& done,
                           std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return done(messages_) || eof_; });
  return done(messages_);
}

std::string SiaReceiver::log() const {
  std::string text = process_ ? process_->output() : std::string{};
  std::lock_guard lock(mutex_);
  for (const auto& line : other_lines_) text += "stdout: " + line + "\n";
  return text;
}

}  // namespace eg::test
