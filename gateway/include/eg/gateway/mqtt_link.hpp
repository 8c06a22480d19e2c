// Our narrow MQTT interface over Paho MQTT C++: connect with backoff and
// jitter, subscribe, publish with a completion, receive. Paho's callbacks run
// on Paho's threads; they only copy what they got and post it to the loop, so
// every handler given here runs on the io_context's thread.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eg/gateway/config.hpp"

namespace eg::gateway {

struct InboundMessage {
  std::string topic;
  std::string payload;
  bool retained = false;
  int qos = 0;
  // The broker says it may have sent this before (a redelivery after a lost
  // connection); with the packet id it identifies the copy.
  bool dup = false;
  std::uint16_t packet_id = 0;
};

struct LastWill {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retained = true;
};

struct MqttLinkOptions {
  BrokerConfig broker;
  bool clean_session = false;  // persistent session: the broker queues QoS 1 for us while we are away
  std::vector<std::string> subscriptions;
  std::optional<LastWill> will;
  int max_inflight = 64;
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30'000};
  std::string log_name = "mqtt";  // "local" or "upstream" in log lines
};

class MqttLink {
 public:
  using MessageHandler = std::function<void(InboundMessage)>;
  using ConnectionHandler = std::function<void(bool connected)>;
  using Completion = std::function<void(bool delivered)>;

  MqttLink(boost::asio::io_context& io, MqttLinkOptions options);
  ~MqttLink();  // disables callbacks, disconnects without waiting
  MqttLink(const MqttLink&) = delete;
  MqttLink& operator=(const MqttLink&) = delete;

  void on_message(MessageHandler handler);
  // true once connected and every subscription is acknowledged; false on loss.
  void on_connection(ConnectionHandler handler);

  // Connects, and reconnects after every loss with exponential backoff and
  // jitter (so a district of gateways does not reconnect in lock-step).
  void start();
  // Publishes; `done` runs on the loop with true once the broker acknowledged
  // (QoS 1/2) or the message was written (QoS 0), false if it failed. Fails at
  // once when disconnected: the caller keeps the message and retries.
  void publish(std::string topic, std::string payload, int qos, bool retained, Completion done);
  // Disconnects cleanly (no last will), waiting at most `timeout`; no
  // reconnection afterwards. `done` runs on the loop.
  void stop(std::chrono::milliseconds timeout, std::function<void()> done);

  bool connected() const;
  std::size_t inflight() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace eg::gateway
