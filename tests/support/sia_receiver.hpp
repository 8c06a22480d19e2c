// A real, independent SIA DC-09 receiver for the tests: the receiver class of
// the npm package iobroker.sia 2.0.4 run by tests/support/sia_receiver.js under
// node, listening on TCP and UDP on one port of 127.0.0.1 for one account.
// Every message it ACKs or NAKs shows up in messages(). Installed by
// scripts/install-sia-receiver (scripts/test runs it).
//
// Restarting the receiver = constructing a new SiaReceiver on the same port.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace eg::test {

// What the receiver reported for one message: the parsed fields when it ACKed
// it, or only `error` (its reason) when it NAKed it.
struct SiaMessage {
  std::string id;  // "ADM-CID", "*SIA-DCS", ...
  std::string seq;
  std::string rpref;
  std::string lpref;
  std::string act;
  std::string data_message;   // e.g. "#1234|1101 01 002"
  std::string data_extended;  // without brackets
  std::string ts;             // the message's own timestamp, "HH:MM:SS,MM-DD-YYYY"
  std::string error;          // non-empty: the receiver NAKed (or a socket failed)
};

// A port of 127.0.0.1 free for both TCP and UDP when asked.
std::uint16_t free_port_tcp_and_udp();

// Where the receiver's pieces are (compile definitions, set by tests/CMakeLists.txt).
std::string sia_receiver_module();
std::string sia_receiver_script();

class SiaReceiver {
 public:
  // Starts the receiver and waits until it listens on TCP and UDP. `key_hex`:
  // 32, 48 or 64 hex digits for an encrypting account, empty for a plain one.
  // Throws if iobroker.sia is not installed or the receiver does not start.
  SiaReceiver(std::uint16_t port, std::string account, std::string key_hex = {},
              std::chrono::milliseconds startup_deadline = std::chrono::seconds(15));
  ~SiaReceiver();
  SiaReceiver(const SiaReceiver&) = delete;
  SiaReceiver& operator=(const SiaReceiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<SiaMessage> messages() const;
  // True once `done(messages)` holds; false if it did not within `timeout`.
  bool wait_for(const std::function<bool(const std::vector<SiaMessage>&)>& done, std::chrono::milliseconds timeout);
  // SIGTERM and wait for the exit. Idempotent.
  void stop();
  // SIGKILL: the receiver dies mid-stream, as a crashed alarm receiver would.
  void kill();
  bool running();
  // The receiver's own log (its stderr) and any stdout line that was not a message.
  std::string log() const;

 private:
  void read_stdout();
  void finish();

  std::uint16_t port_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool ready_ = false;
  bool eof_ = false;
  std::vector<SiaMessage> messages_;
  std::vector<std::string> other_lines_;
};

}  // namespace eg::test
