#include "mosquitto.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
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

MosquittoBroker::MosquittoBroker(bool persistent, std::string extra_config)
    : persistent_(persistent), extra_config_(std::move(extra_config)) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    if (try_start()) return;
  }
  throw std::runtime_error("mosquitto did not start: " + log());
}

MosquittoBroker::MosquittoBroker(BrokerTls tls) : persistent_(false), tls_(tls) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    plain_port_ = free_port();
    if (port_ != plain_port_ && try_start() &&
        wait_until([&] { return port_accepts(plain_port_); }, std::chrono::seconds(5)))
      return;
  }
  throw std::runtime_error("mosquitto (TLS) did not start: " + log());
}

MosquittoBroker::MosquittoBroker(ShippedBrokerConfig shipped) : persistent_(true), shipped_(std::move(shipped)) {
  std::random_device random;
  password_salt_ = std::to_string(random()) + std::to_string(random());
  const std::string passwords = dir_.file("passwords");
  for (std::size_t i = 0; i < shipped_.users.size(); ++i) {
    const auto& user = shipped_.users[i];
    std::vector<std::string> args{"mosquitto_passwd", "-b", passwords, user, password(user)};
    if (i == 0) args.insert(args.begin() + 1, "-c");
    auto result = run_command(args, std::chrono::seconds(30));
    if (result.exit_code != 0) throw std::runtime_error("mosquitto_passwd failed: " + result.output);
    dir_.secret_file(user + ".password", password(user) + "\n");
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    if (try_start()) return;
  }
  throw std::runtime_error("mosquitto (shipped config) did not start: " + log());
}

std::string MosquittoBroker::password_file(const std::string& user) const {
  return dir_.file(user + ".password");
}

// config/mosquitto/mosquitto.conf as shipped, but for its paths and the
// listener: the private directory, a free loopback port, logs to stderr.
void MosquittoBroker::write_shipped_config() {
  std::ifstream shipped(shipped_.config_dir + "/mosquitto.conf");
  if (!shipped) throw std::runtime_error("cannot read " + shipped_.config_dir + "/mosquitto.conf");
  std::ofstream config(dir_.file("mosquitto.conf"));
  std::string line;
  while (std::getline(shipped, line)) {
    auto starts = [&](const char* key) { return line.rfind(key, 0) == 0; };
    if (starts("password_file "))
      line = "password_file " + dir_.file("passwords");
    else if (starts("acl_file "))
      line = "acl_file " + shipped_.config_dir + "/acl";
    else if (starts("listener "))
      line = "listener " + std::to_string(port_) + " 127.0.0.1";
    else if (starts("persistence_location "))
      line = "persistence_location " + dir_.path() + "/";
    else if (starts("log_dest "))
      line = "log_dest stderr";
    config << line << "\n";
  }
  if (::geteuid() == 0) config << "user root\n";
}

TestPki::TestPki(const TempDir& dir) {
  auto openssl = [](std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    auto result = run_command(args, std::chrono::seconds(60));
    if (result.exit_code != 0) throw std::runtime_error("openssl failed: " + result.output);
  };
  auto path = [&](const std::string& name) { return dir.file(name); };
  for (const char* ca : {"ca", "other-ca"})
    openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             std::string("/CN=eldercare test ") + ca, "-keyout", path(std::string(ca) + ".key"), "-out",
             path(std::string(ca) + ".crt")});
  std::ofstream(path("server.ext")) << "subjectAltName=IP:127.0.0.1\n";
  for (const char* who : {"server", "client"}) {
    std::string name = who;
    openssl({"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", path(name + ".key"), "-out",
             path(name + ".csr")});
    std::vector<std::string> sign{"x509",
                                  "-req",
                                  "-in",
                                  path(name + ".csr"),
                                  "-CA",
                                  path("ca.crt"),
                                  "-CAkey",
                                  path("ca.key"),
                                  "-CAcreateserial",
                                  "-days",
                                  "2",
                                  "-out",
                                  path(name + ".crt")};
    if (name == "server") {
      sign.push_back("-extfile");
      sign.push_back(path("server.ext"));
    }
    openssl(sign);
  }
  ca_cert = path("ca.crt");
  other_ca_cert = path("other-ca.crt");
  server_cert = path("server.crt");
  server_key = path("server.key");
  client_cert = path("client.crt");
  client_key = path("client.key");
}

MosquittoBroker::~MosquittoBroker() {
  stop();
}

void MosquittoBroker::write_config() {
  if (!shipped_.config_dir.empty()) return write_shipped_config();
  std::ofstream config(dir_.file("mosquitto.conf"));
  config << "listener " << port_ << " 127.0.0.1\n";
  if (tls_.pki != nullptr) {
    config << "cafile " << tls_.pki->ca_cert << "\ncertfile " << tls_.pki->server_cert << "\nkeyfile "
           << tls_.pki->server_key << "\nrequire_certificate " << (tls_.require_client_certificate ? "true" : "false")
           << "\nlistener " << plain_port_ << " 127.0.0.1\n";
  }
  config << "allow_anonymous true\n"
         // The default (1000) silently drops messages for a slow subscriber.
         << "max_queued_messages 1000000\n"
         << "max_inflight_messages 100\n"
         << "log_dest stderr\n"
         << "log_type error\nlog_type warning\nlog_type notice\n";
  // Placeholders a test's extra lines may use: its private directory.
  std::string extra = extra_config_;
  for (auto at = extra.find("{dir}"); at != std::string::npos; at = extra.find("{dir}"))
    extra.replace(at, 5, dir_.path());
  config << extra;
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
