#include "eg/gateway/mqtt_link.hpp"

#include "eg/common/tcp_nodelay.hpp"

#include <spdlog/spdlog.h>

#include <mqtt/async_client.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <random>

#include <unordered_map>
#include "random_seed.hpp"

namespace eg::gateway {

namespace asio = boost::asio;

// Paho's action listeners run on Paho's threads: each only posts to the loop.
class PostingListener final : public mqtt::iaction_listener {
 public:
  using Handler = std::function<void(void* context, bool ok, std::string error)>;
  PostingListener(asio::io_context& io, Handler handler) : io_(io), handler_(std::move(handler)) {}
  void on_success(const mqtt::token& token) override {
    asio::post(io_, [h = handler_, ctx = token.get_user_context()] { h(ctx, true, {}); });
  }
  void on_failure(const mqtt::token& token) override {
    std::string error = "reason code " + std::to_string(token.get_return_code());
    asio::post(io_, [h = handler_, ctx = token.get_user_context(), error] { h(ctx, false, error); });
  }

 private:
  asio::io_context& io_;
  Handler handler_;
};

struct MqttLink::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, MqttLinkOptions opts)
      : io(io_context),
        options(std::move(opts)),
        reconnect_timer(io_context),
        stop_timer(io_context),
        connect_watchdog(io_context),
        jitter(kernel_seeded_engine()) {}

  void init() {
    std::weak_ptr<Impl> weak = weak_from_this();
    auto on_loop = [weak](auto fn) {
      return [weak, fn](void* ctx, bool ok, std::string error) {
        if (auto self = weak.lock()) (self.get()->*fn)(ctx, ok, std::move(error));
      };
    };
    connect_listener = std::make_unique<PostingListener>(io, on_loop(&Impl::on_connect_result));
    publish_listener = std::make_unique<PostingListener>(io, on_loop(&Impl::on_publish_result));
    subscribe_listener = std::make_unique<PostingListener>(io, on_loop(&Impl::on_subscribe_result));
    disconnect_listener = std::make_unique<PostingListener>(io, on_loop(&Impl::on_disconnect_result));

    mqtt::create_options create(MQTTVERSION_3_1_1);
    std::string uri = options.broker.uri;
    if (uri.starts_with("mqtt://")) uri = "tcp://" + uri.substr(7);
    if (uri.starts_with("mqtts://")) uri = "ssl://" + uri.substr(8);
    client = std::make_unique<mqtt::async_client>(uri, options.broker.client_id, create, nullptr);
    client->set_message_callback([weak, &io = io](mqtt::const_message_ptr message) {
      // Paho's thread: copy and hand over, nothing more.
      InboundMessage copy{message->get_topic(), message->get_payload_str(), message->is_retained(), message->get_qos()};
      asio::post(io, [weak, copy = std::move(copy)]() mutable {
        if (auto self = weak.lock())
          if (self->message_handler) self->message_handler(std::move(copy));
      });
    });
    client->set_connection_lost_handler([weak, &io = io](const std::string& cause) {
      asio::post(io, [weak, cause] {
        if (auto self = weak.lock()) self->on_connection_lost(cause);
      });
    });
  }

  void connect() {
    if (stopping) return;
    mqtt::connect_options connect_options;
    connect_options.set_clean_session(options.clean_session);
    connect_options.set_keep_alive_interval(options.broker.keep_alive_s);
    connect_options.set_connect_timeout(10);
    connect_options.set_automatic_reconnect(false);  // ours has jitter
    // 3.1.1 only: Paho's default tries 3.1.1 and then falls back to 3.1, and
    // the soak saw a link whose fallback connect succeeded at the broker
    // without the result ever reaching us.
    connect_options.set_mqtt_version(MQTTVERSION_3_1_1);
    connect_options.set_max_inflight(options.max_inflight);
    if (!options.broker.username.empty()) connect_options.set_user_name(options.broker.username);
    if (!options.broker.password.empty()) connect_options.set_password(options.broker.password);
    if (options.will)
      connect_options.set_will(
          mqtt::will_options(options.will->topic, options.will->payload, options.will->qos, options.will->retained));
    if (options.broker.tls.enabled || options.broker.uri.starts_with("ssl://") ||
        options.broker.uri.starts_with("mqtts://")) {
      mqtt::ssl_options ssl;
      if (!options.broker.tls.ca_file.empty()) ssl.set_trust_store(options.broker.tls.ca_file);
      if (!options.broker.tls.cert_file.empty()) ssl.set_key_store(options.broker.tls.cert_file);
      if (!options.broker.tls.key_file.empty()) ssl.set_private_key(options.broker.tls.key_file);
      ssl.set_enable_server_cert_auth(options.broker.tls.verify_server);
      ssl.set_verify(options.broker.tls.verify_server);
      connect_options.set_ssl(std::move(ssl));
    }
    spdlog::debug("MQTT_CONNECTING link={} uri={} attempt={}", options.log_name, options.broker.uri, attempt);
    try {
      ++connect_attempt;
      client->connect(connect_options, reinterpret_cast<void*>(connect_attempt), *connect_listener);
      watch_connect(connect_attempt);
    } catch (const mqtt::exception& error) {
      spdlog::warn("MQTT_CONNECT_FAILED link={} uri={} reason=\"{}\"", options.log_name, options.broker.uri,
                   error.what());
      schedule_reconnect();
    }
  }

  void schedule_reconnect() {
    if (stopping) return;
    std::chrono::milliseconds base = std::min(options.backoff_max, options.backoff_min * (1 << std::min(attempt, 16)));
    ++attempt;
    // Full range [base/2, base]: spreads a district of gateways after a broker restart.
    std::uniform_int_distribution<long long> pick(base.count() / 2, base.count());
    auto delay = std::chrono::milliseconds(pick(jitter));
    spdlog::debug("MQTT_RECONNECT_SCHEDULED link={} in_ms={}", options.log_name, delay.count());
    reconnect_timer.expires_after(delay);
    reconnect_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->connect();
    });
  }

  // A connect whose result never comes must not leave the link down for
  // good: after the connect timeout and a margin, believe Paho's own state.
  void watch_connect(std::uintptr_t attempt_id) {
    connect_watchdog.expires_after(std::chrono::seconds(15));
    connect_watchdog.async_wait([weak = weak_from_this(), attempt_id](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopping || self->is_connected || attempt_id != self->connect_attempt) return;
      bool paho_connected = self->client->is_connected();
      spdlog::warn("MQTT_CONNECT_NO_ANSWER link={} uri={} paho_connected={}", self->options.log_name,
                   self->options.broker.uri, paho_connected);
      self->on_connect_result(reinterpret_cast<void*>(attempt_id), paho_connected, "no answer to CONNECT");
    });
  }

  void on_connect_result(void* context, bool ok, std::string error) {
    // Only the answer to the latest attempt counts (the watchdog may have
    // decided for a late one already).
    if (reinterpret_cast<std::uintptr_t>(context) != connect_attempt || is_connected) return;
    connect_watchdog.cancel();
    ++connect_attempt;  // this attempt is decided
    if (!ok) {
      if (attempt <= 3 || attempt % 10 == 0)
        spdlog::warn("MQTT_CONNECT_FAILED link={} uri={} reason=\"{}\" attempt={}", options.log_name,
                     options.broker.uri, error, attempt + 1);
      schedule_reconnect();
      return;
    }
    is_connected = true;
    attempt = 0;
    int nodelay = eg::set_nodelay_on_tcp_sockets();
    spdlog::info("MQTT_CONNECTED link={} uri={} nodelay_sockets={}", options.log_name, options.broker.uri, nodelay);
    // Report "connected" only once every subscription is acknowledged, so a
    // caller that starts publishing on it cannot race the SUBACKs.
    subscriptions_pending = options.subscriptions.size();
    for (const auto& filter : options.subscriptions) {
      try {
        client->subscribe(filter, options.broker.qos, nullptr, *subscribe_listener);
      } catch (const mqtt::exception& e) {
        spdlog::error("MQTT_SUBSCRIBE_FAILED link={} filter={} reason=\"{}\"", options.log_name, filter, e.what());
        --subscriptions_pending;
      }
    }
    if (subscriptions_pending == 0 && connection_handler) connection_handler(true);
  }

  void on_connection_lost(const std::string& cause) {
    if (!is_connected) return;
    is_connected = false;
    spdlog::warn("MQTT_CONNECTION_LOST link={} uri={} cause=\"{}\"", options.log_name, options.broker.uri, cause);
    if (connection_handler) connection_handler(false);
    schedule_reconnect();
  }

  void on_subscribe_result(void*, bool ok, std::string error) {
    if (!ok) spdlog::error("MQTT_SUBSCRIBE_FAILED link={} reason=\"{}\"", options.log_name, error);
    if (subscriptions_pending == 0 || --subscriptions_pending > 0 || !is_connected) return;
    if (connection_handler) connection_handler(true);
  }

  void on_publish_result(void* context, bool ok, std::string) {
    auto it = pending.find(reinterpret_cast<std::uintptr_t>(context));
    if (it == pending.end()) return;
    auto done = std::move(it->second);
    pending.erase(it);
    if (done) done(ok);
  }

  void on_disconnect_result(void*, bool, std::string) { finish_stop(); }

  void finish_stop() {
    stop_timer.cancel();
    if (auto done = std::exchange(stop_done, nullptr)) done();
  }

  void publish(std::string topic, std::string payload, int qos, bool retained, Completion done) {
    if (!is_connected) {
      asio::post(io, [done = std::move(done)] {
        if (done) done(false);
      });
      return;
    }
    std::uintptr_t id = ++next_publish_id;
    pending.emplace(id, std::move(done));
    try {
      auto message = mqtt::make_message(std::move(topic), std::move(payload), qos, retained);
      client->publish(message, reinterpret_cast<void*>(id), *publish_listener);
    } catch (const mqtt::exception& error) {
      spdlog::debug("MQTT_PUBLISH_REJECTED link={} reason=\"{}\"", options.log_name, error.what());
      auto it = pending.find(id);
      auto failed = std::move(it->second);
      pending.erase(it);
      asio::post(io, [failed = std::move(failed)] {
        if (failed) failed(false);
      });
    }
  }

  void stop(std::chrono::milliseconds timeout, std::function<void()> done) {
    stopping = true;
    reconnect_timer.cancel();
    connect_watchdog.cancel();
    stop_done = std::move(done);
    if (!is_connected) {
      asio::post(io, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->finish_stop();
      });
      return;
    }
    is_connected = false;
    try {
      client->disconnect(static_cast<int>(timeout.count()), nullptr, *disconnect_listener);
    } catch (const mqtt::exception&) {
      // Already gone: nothing left to close.
    }
    stop_timer.expires_after(timeout + std::chrono::milliseconds(100));
    stop_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->finish_stop();
    });
  }

  asio::io_context& io;
  MqttLinkOptions options;
  MessageHandler message_handler;
  ConnectionHandler connection_handler;
  asio::steady_timer reconnect_timer;
  asio::steady_timer stop_timer;
  asio::steady_timer connect_watchdog;
  std::uintptr_t connect_attempt = 0;
  std::mt19937_64 jitter;
  int attempt = 0;
  std::size_t subscriptions_pending = 0;
  bool is_connected = false;
  bool stopping = false;
  std::function<void()> stop_done;
  std::uintptr_t next_publish_id = 0;
  std::unordered_map<std::uintptr_t, Completion> pending;
  std::unique_ptr<PostingListener> connect_listener, publish_listener, subscribe_listener, disconnect_listener;
  std::unique_ptr<mqtt::async_client> client;  // last: destroyed first, before the listeners it uses
};

MqttLink::MqttLink(asio::io_context& io, MqttLinkOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  impl_->init();
}

MqttLink::~MqttLink() {
  impl_->stopping = true;
  impl_->reconnect_timer.cancel();
  impl_->stop_timer.cancel();
  try {
    impl_->client->disable_callbacks();
  } catch (const mqtt::exception& error) {
    // Paho refuses while a disconnect is still under way; our handlers only
    // post through weak pointers, so a late callback finds nothing to call.
    spdlog::debug("MQTT_DISABLE_CALLBACKS_FAILED link={} reason=\"{}\"", impl_->options.log_name, error.what());
  }
}

void MqttLink::on_message(MessageHandler handler) {
  impl_->message_handler = std::move(handler);
}
void MqttLink::on_connection(ConnectionHandler handler) {
  impl_->connection_handler = std::move(handler);
}
void MqttLink::start() {
  impl_->stopping = false;
  impl_->connect();
}
void MqttLink::publish(std::string topic, std::string payload, int qos, bool retained, Completion done) {
  impl_->publish(std::move(topic), std::move(payload), qos, retained, std::move(done));
}
void MqttLink::stop(std::chrono::milliseconds timeout, std::function<void()> done) {
  impl_->stop(timeout, std::move(done));
}
bool MqttLink::connected() const {
  return impl_->is_connected;
}
std::size_t MqttLink::inflight() const {
  return impl_->pending.size();
}

}  // namespace eg::gateway
