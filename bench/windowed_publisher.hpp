// A QoS 1 publisher with a bounded window of publishes awaiting PUBACK, shared
// by the benchmark programs. Paho and eg::common only: the load generator
// links nothing of the gateway.
#pragma once

#include <mqtt/async_client.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>

#include "eg/common/tcp_nodelay.hpp"

namespace eg::bench {

// Publishes at QoS 1 keeping at most `window` publishes awaiting PUBACK, the
// way the gateway's upstream link does (upstream.max_inflight) and a busy
// Zigbee2MQTT bridge sends. `nodelay`: turn Nagle off on Paho's sockets, as
// the gateway does; a sensor bridge does not.
class WindowedPublisher {
 public:
  WindowedPublisher(const std::string& uri, const std::string& client_id, int window, bool nodelay = true)
      : client_(uri, client_id, mqtt::create_options(MQTTVERSION_3_1_1)), window_(window), listener_(*this) {
    mqtt::connect_options options;
    options.set_clean_session(true);
    options.set_connect_timeout(5);
    options.set_max_inflight(window);
    client_.connect(options)->wait();
    if (nodelay) eg::set_nodelay_on_tcp_sockets();
  }
  ~WindowedPublisher() {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
      // The broker may already be gone.
    }
  }
  WindowedPublisher(const WindowedPublisher&) = delete;
  WindowedPublisher& operator=(const WindowedPublisher&) = delete;

  // Publishes `count` messages, message(i) giving topic and payload of the
  // i-th; returns once every one is acknowledged. Throws on a failed publish.
  template <typename Message>
  void publish_all(std::size_t count, Message&& message) {
    for (std::size_t i = 0; i < count; ++i) {
      {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [&] { return inflight_ < window_; });
        ++inflight_;
      }
      const auto& [topic, payload] = message(i);
      client_.publish(mqtt::make_message(topic, payload, 1, false), nullptr, listener_);
    }
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return inflight_ == 0; });
    if (failed_ > 0) throw std::runtime_error(std::to_string(failed_) + " publishes failed");
  }

 private:
  class Listener final : public mqtt::iaction_listener {
   public:
    explicit Listener(WindowedPublisher& owner) : owner_(owner) {}
    void on_success(const mqtt::token&) override { owner_.done(true); }
    void on_failure(const mqtt::token&) override { owner_.done(false); }

   private:
    WindowedPublisher& owner_;
  };
  void done(bool ok) {
    {
      std::lock_guard lock(mu_);
      --inflight_;
      if (!ok) ++failed_;
    }
    changed_.notify_one();
  }

  mqtt::async_client client_;
  int window_;
  Listener listener_;
  std::mutex mu_;
  std::condition_variable changed_;
  int inflight_ = 0;
  int failed_ = 0;
};

}  // namespace eg::bench
