// A plain Paho client for tests: the sensors' side (publish) and the
// platform's side (subscribe and collect), independent of the gateway's code.
#pragma once

#include <mqtt/async_client.h>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace eg::test {

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  bool retained;
};

class TestMqttClient {
 public:
  // `persistent`: a session the broker keeps (clean session off) and automatic
  // reconnection, like a platform consumer that must not miss messages while
  // the broker restarts.
  TestMqttClient(const std::string& uri, const std::string& client_id, bool persistent = false);
  // As a broker user (config/mosquitto's ACLs apply to it).
  struct User {
    std::string name, password;
  };
  TestMqttClient(const std::string& uri, const std::string& client_id, const User& user);
  ~TestMqttClient();

  void publish(const std::string& topic, const std::string& payload, int qos = 1, bool retain = false);
  void subscribe(const std::string& filter, int qos = 1);
  // The next message, or nullopt after `timeout`.
  std::optional<ReceivedMessage> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  void connect(mqtt::connect_options options);
  std::unique_ptr<mqtt::async_client> client_;
};

}  // namespace eg::test
