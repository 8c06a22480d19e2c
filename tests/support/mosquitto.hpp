// A real mosquitto broker on 127.0.0.1, on a free port, with its config and
// persistence in a private temp dir; stopped when the object dies.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace eg::test {

// A private certificate authority for TLS tests, made with the openssl CLI in
// a temp dir: a server certificate for 127.0.0.1 and a client certificate.
struct TestPki {
  explicit TestPki(const TempDir& dir);
  std::string ca_cert, server_cert, server_key, client_cert, client_key;
  std::string other_ca_cert;  // a second CA that signed nothing we use
};

struct BrokerTls {
  const TestPki* pki = nullptr;
  bool require_client_certificate = false;
};

// The broker configuration we ship (config/mosquitto: no anonymous access,
// per-user ACLs), on a free loopback port, with these users, each given a
// random password.
struct ShippedBrokerConfig {
  std::string config_dir;  // the repository's config/mosquitto
  std::vector<std::string> users;
};

class MosquittoBroker {
 public:
  // `persistent`: keep sessions and queued messages across restart().
  // `extra_config`: more mosquitto.conf lines ("{dir}" is the broker's
  // private directory, for an ACL file written there with file_in_dir()).
  explicit MosquittoBroker(bool persistent = false, std::string extra_config = "");
  // A TLS listener on port() (ssl_uri()) plus a plain one on plain_port()
  // (uri()) for test clients; both share topics.
  explicit MosquittoBroker(BrokerTls tls);
  explicit MosquittoBroker(ShippedBrokerConfig shipped);
  ~MosquittoBroker();

  int port() const { return port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(tls_.pki ? plain_port_ : port_); }
  std::string ssl_uri() const { return "ssl://127.0.0.1:" + std::to_string(port_); }
  void stop();
  // Starts again on the same port (after stop()).
  void start();
  std::string log() const;
  // With a shipped config: a user's password, and a file (mode 0600) holding it.
  std::string password(const std::string& user) const { return user + "-" + password_salt_; }
  std::string password_file(const std::string& user) const;

 private:
  void write_config();
  void write_shipped_config();
  bool try_start();

  TempDir dir_;
  bool persistent_;
  std::string extra_config_;
  BrokerTls tls_;
  int port_ = 0;
  int plain_port_ = 0;
  ShippedBrokerConfig shipped_;
  std::string password_salt_;
  std::unique_ptr<ChildProcess> process_;
};

// A port that was free a moment ago (bound to 0, then released).
int free_port();
// True when something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(int port);

}  // namespace eg::test
