#include "mosquitto.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "wait.hpp"

namespace eg::test {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

MosquittoBroker::MosquittoBroker(bool persistent) : persistent_(persistent) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    if (try_start()) return;
  }
  throw std::runtime_error("mosquitto did not start: " + log());
}

MosquittoBroker::~MosquittoBroker() {
  stop();
}

void MosquittoBroker::write_config() {
  std::ofstream config(dir_.file("mosquitto.conf"));
  config << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous true\n"
         // The default (1000) silently drops messages for a slow subscriber.
         << "max_queued_messages 1000000\n"
         << "max_inflight_messages 100\n"
         << "log_dest stderr\n"
         << "log_type error\nlog_type warning\nlog_type notice\n";
  if (std::getenv("EG_MOSQUITTO_VERBOSE") != nullptr) config << "log_type all\n";  // for debugging a test
  // As root, mosquitto drops to the "mosquitto" user, which cannot write our
  // private temp dir: keep the test's own identity.
  if (::geteuid() == 0) config << "user root\n";
  if (persistent_)
    config << "persistence true\npersistence_location " << dir_.path() << "/\nautosave_interval 1\n";
  else
    config << "persistence false\n";
}

bool MosquittoBroker::try_start() {
  write_config();
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{"mosquitto", "-c", dir_.file("mosquitto.conf")},
                                            dir_.file("mosquitto.log"));
  bool up = wait_until([&] { return port_accepts(port_) || !process_->running(); }, std::chrono::seconds(10));
  return up && process_->running();
}

void MosquittoBroker::start() {
  if (!try_start())
    throw std::runtime_error("mosquitto did not restart on port " + std::to_string(port_) + ": " + log());
}

void MosquittoBroker::stop() {
  if (process_) process_->stop();
}

std::string MosquittoBroker::log() const {
  std::ifstream in(dir_.file("mosquitto.log"));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace eg::test
