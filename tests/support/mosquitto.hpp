// A real mosquitto broker on 127.0.0.1, on a free port, with its config and
// persistence in a private temp dir; stopped when the object dies.
#pragma once

#include <memory>
#include <string>

#include "process.hpp"
#include "temp_dir.hpp"

namespace eg::test {

class MosquittoBroker {
 public:
  // `persistent`: keep sessions and queued messages across restart().
  explicit MosquittoBroker(bool persistent = false);
  ~MosquittoBroker();

  int port() const { return port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  void stop();
  // Starts again on the same port (after stop()).
  void start();
  std::string log() const;

 private:
  void write_config();
  bool try_start();

  TempDir dir_;
  bool persistent_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A port that was free a moment ago (bound to 0, then released).
int free_port();
// True when something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(int port);

}  // namespace eg::test
