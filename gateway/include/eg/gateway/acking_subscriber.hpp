// A subscribe-only MQTT 3.1.1 client on Asio that acknowledges each QoS 1
// message only when told to: after the gateway has committed it to SQLite.
//
// Why not Paho: Paho C sends PUBACK before the message callback runs, so a
// `kill -9` between that PUBACK and our commit loses a message the broker
// considers delivered. With this client the broker keeps every message it has
// not seen acknowledged in our persistent session and sends it again after a
// crash. Plain TCP only (the local broker is on this box); a local broker
// configured with TLS falls back to Paho, with that weaker guarantee.
// Loop thread only; handlers run on the loop.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eg/gateway/mqtt_link.hpp"

namespace eg::gateway {

class AckingSubscriber {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 1883;
    std::string client_id;
    std::string username;
    std::string password;
    int keep_alive_s = 30;
    std::vector<std::string> filters;  // subscribed at QoS 1
    // Off: the broker keeps our queue while we are away (the durable
    // ingest). On: a throw-away session that sees only what is published
    // while it is connected (the memory-only alarm path while the store fails).
    bool clean_session = false;
    // A larger packet is never buffered: its first bytes tell the topic and
    // packet id, the rest is skipped, and it is acknowledged and reported.
    std::size_t max_packet_bytes = 256 * 1024;
    // Resolve, connect, CONNACK and SUBACK must all happen within this, or
    // the attempt fails and is retried with backoff.
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds backoff_min{200};
    std::chrono::milliseconds backoff_max{10'000};
  };
  // `ack_token` identifies the message for ack(): it names the connection it
  // came on, so an ack for a message the broker has already re-sent on a new
  // connection is dropped instead of acknowledging the wrong packet.
  using MessageHandler = std::function<void(InboundMessage message, std::uint64_t ack_token)>;
  using ConnectionHandler = std::function<void(bool connected)>;
  // A packet over max_packet_bytes was dropped: topic (if it could be read) and its size.
  using OversizeHandler = std::function<void(const std::string& topic, std::size_t bytes)>;

  AckingSubscriber(boost::asio::io_context& io, Options options);
  ~AckingSubscriber();
  AckingSubscriber(const AckingSubscriber&) = delete;
  AckingSubscriber& operator=(const AckingSubscriber&) = delete;

  void on_message(MessageHandler handler);
  void on_oversize(OversizeHandler handler);
  // true once connected and subscribed; false on loss (it reconnects itself).
  void on_connection(ConnectionHandler handler);
  void start();
  // Sends DISCONNECT (unacknowledged messages stay with the broker) and stops.
  void stop();
  // Sends the acknowledgements already queued, then DISCONNECT, then stops;
  // `done` runs once that is written or after `timeout`, whichever is first.
  // Messages arriving meanwhile are neither delivered nor acknowledged.
  void close_gracefully(std::chrono::milliseconds timeout, std::function<void()> done);
  // Sends PUBACK for a QoS 1 message; QoS 0 tokens and stale tokens are ignored.
  void ack(std::uint64_t ack_token);
  // SUBACKs that refused a filter (0x80) so far; each makes the attempt fail.
  std::uint64_t subscribe_refusals() const;
  bool connected() const;

  // Parses "tcp://host:port" / "mqtt://host:port"; false for anything else.
  static bool parse_uri(const std::string& uri, std::string& host, std::uint16_t& port);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace eg::gateway
