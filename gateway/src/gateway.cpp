#include "eg/gateway/gateway.hpp"

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "alerting.hpp"
#include "eg/drivers/registry.hpp"
#include "eg/drivers/router.hpp"
#include "eg/gateway/acking_subscriber.hpp"
#include "eg/gateway/mqtt_link.hpp"
#include "eg/gateway/store.hpp"
#include "eldercare/v1/command.pb.h"
#include "eldercare/v1/gateway_status.pb.h"
#include "forwarder.hpp"
#include "http_endpoint.hpp"
#include "rate_limited_log.hpp"
#include "silence_watch.hpp"
#include "uuid.hpp"

#ifndef EG_VERSION
#define EG_VERSION "0.0.0"
#endif

namespace eg::gateway {

namespace asio = boost::asio;
using google::protobuf::util::TimeUtil;

namespace {

google::protobuf::Timestamp to_timestamp(WallTime t) {
  return TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

std::string printable(std::string_view bytes, std::size_t limit = 120) {
  std::string out;
  for (char c : bytes.substr(0, limit)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (bytes.size() > limit) out += "...";
  return out;
}

}  // namespace

struct Gateway::Impl {
  Impl(asio::io_context& io_context, GatewayConfig cfg, const Clock& c, std::optional<rules::RuleSet> rule_set)
      : io(io_context),
        config(std::move(cfg)),
        clock(c),
        flush_timer(io_context),
        status_timer(io_context),
        silence_timer(io_context),
        bad_input_log(std::chrono::seconds(60)),
        pending_rules(std::move(rule_set)) {
    for (const auto& spec : config.mapped) {
      // First: an installer's mapping is more specific than a publisher's
      // catch-all base topic. Validated when the config was read.
      auto& driver = router.own(std::move(drivers::make_mapped_json_driver(spec)).value());
      for (auto& filter : driver.topic_filters()) router.add_route(std::move(filter), driver);
    }
    for (const auto& route : config.drivers) {
      auto& driver =
          router.own(drivers::make_driver(route.driver, drivers::DriverOptions{route.base_topic, config.utc_offset}));
      silence_limit[&driver] = route.silence_after;
      for (auto& filter : driver.topic_filters()) router.add_route(std::move(filter), driver);
    }
  }

  // --- start and stop ------------------------------------------------------

  void start(std::function<void()> ready) {
    on_ready = std::move(ready);
    started = clock.wall_now();
    store = std::make_unique<Store>(config.database);
    last_sequence = store->last_sequence();
    if (pending_rules) {
      alerting = std::make_unique<Alerting>(
          io, std::move(*pending_rules), config, clock, metrics,
          Alerting::Hooks{[this](eldercare::v1::AlertTransition t) { emit_transition(std::move(t)); },
                          [this](const std::string& topic, std::string payload) {
                            local_notices.push_back({topic, std::move(payload)});
                            send_local_notices();
                          },
                          [this](std::string_view snapshot) { write([&] { store->save_engine_state(snapshot); }); },
                          [this](eldercare::v1::SensorEvent event) {
                            WallTime now = clock.wall_now();
                            *event.mutable_received_time() = to_timestamp(now);
                            forward_event(std::move(event), now);
                          },
                          [this](std::string_view meta, std::string_view alert) {
                            std::int64_t id = 0;
                            write([&] { id = store->add_operator_message(meta, alert); });
                            return id;
                          },
                          [this](std::int64_t id) { write([&] { store->remove_operator_message(id); }); }});
      pending_rules.reset();
    }
    spdlog::info("GATEWAY_STARTING gateway={} site={} database={} last_sequence={} undelivered={}", config.gateway_id,
                 config.site, config.database, last_sequence, store->undelivered_count());

    MqttLinkOptions up;
    up.broker = config.upstream;
    up.max_inflight = config.upstream.max_inflight;
    up.log_name = "upstream";
    up.will = LastWill{upstream_topic("status"), status_message(false, true), 1, true};
    up.subscriptions = {upstream_topic("command")};
    upstream = std::make_unique<MqttLink>(io, up);
    upstream->on_message([this](InboundMessage m) { handle_command(m, "platform"); });
    forwarder =
        std::make_unique<Forwarder>(io, *store, *upstream, config.upstream, metrics,
                                    Forwarder::Hooks{[this](std::string_view leaf) { return upstream_topic(leaf); },
                                                     [this](std::function<void()> fn) { write(std::move(fn)); }});
    forwarder->committed(last_sequence);  // the backlog left by the last run goes first
    upstream->on_connection([this](bool connected) {
      metrics.set("upstream_connected", connected ? 1 : 0);
      forwarder->connection_changed(connected);
      if (connected) publish_status();
    });

    std::vector<std::string> filters = router.filters();
    for (const auto& filter : config.local.topics) filters.push_back(filter);
    if (alerting) filters.push_back(config.escalation.local_command_topic);
    auto on_subscribed = [this, count = filters.size()](bool connected) {
      metrics.set("local_connected", connected ? 1 : 0);
      if (!connected) return;
      spdlog::info("GATEWAY_READY subscriptions={} acks={} rules={}", count,
                   subscriber ? "after-commit" : "paho-before-callback", alerting ? config.rules_file : "none");
      if (on_ready) std::exchange(on_ready, nullptr)();
    };

    // Ingest: our own acking subscriber on plain TCP, so a message is
    // acknowledged to the broker only once committed; Paho when the local
    // broker needs TLS (Paho acknowledges before our callback runs).
    MqttLinkOptions local_options;
    local_options.broker = config.local;
    local_options.log_name = "local";
    AckingSubscriber::Options subscriber_options;
    bool plain_tcp = !config.local.tls.enabled &&
                     AckingSubscriber::parse_uri(config.local.uri, subscriber_options.host, subscriber_options.port);
    if (plain_tcp) {
      subscriber_options.client_id = config.local.client_id;
      subscriber_options.username = config.local.username;
      subscriber_options.password = config.local.password;
      subscriber_options.keep_alive_s = config.local.keep_alive_s;
      subscriber_options.filters = filters;
      subscriber = std::make_unique<AckingSubscriber>(io, subscriber_options);
      subscriber->on_message([this](InboundMessage m, std::uint64_t token) { handle_local(std::move(m), token); });
      subscriber->on_connection(on_subscribed);
      local_options.broker.client_id += "-pub";  // the publishing side: alarm notices to the room
    } else {
      spdlog::warn(
          "INGEST_ACKS_BEFORE_COMMIT reason=\"local broker uses TLS: Paho acknowledges QoS 1 before the "
          "message is stored; a crash in between can lose it\"");
      local_options.subscriptions = filters;
    }
    local = std::make_unique<MqttLink>(io, local_options);
    if (subscriber)
      local->on_connection([this](bool connected) {
        if (connected) send_local_notices();
      });
    if (!subscriber) {
      local->on_message([this](InboundMessage m) { handle_local(std::move(m), 0); });
      local->on_connection(on_subscribed);
    }

    if (alerting) alerting->start(store->load_engine_state(), store->operator_messages());
    start_http();
    upstream->start();
    local->start();
    if (subscriber) subscriber->start();
    schedule_status();
    schedule_silence_check();
  }

  // GET /metrics and /health on 127.0.0.1, when gateway.http_port is set. A
  // port that cannot be bound is reported, not fatal: alarms matter more.
  void start_http() {
    if (config.http_port == 0) return;
    try {
      http = std::make_unique<HttpEndpoint>(io, config.http_port, metrics, [this] { return health(); });
      spdlog::info("HTTP_READY address=127.0.0.1:{} paths=/metrics,/health", http->port());
    } catch (const boost::system::system_error& error) {
      metrics.add("http_endpoint_failures_total");
      spdlog::error("HTTP_ENDPOINT_FAILED port={} reason=\"{}\"", config.http_port, error.what());
    }
  }

  // Healthy = sensor messages can come in (the local broker is connected).
  // The upstream and the operator link are reported; their outages are
  // covered by store-and-forward and the local ladder.
  HttpEndpoint::Health health() {
    nlohmann::json body = {{"gateway", config.gateway_id},
                           {"site", config.site},
                           {"local_connected", metrics.get("local_connected") == 1},
                           {"upstream_connected", metrics.get("upstream_connected") == 1},
                           {"backlog", store ? store->undelivered_count() : 0},
                           {"alerts_active", alerting ? alerting->active_alerts() : 0},
                           {"last_sequence", last_sequence}};
    if (config.operator_link.enabled) {
      nlohmann::json paths = nlohmann::json::object();
      paths["primary"] = metrics.get("operator_path_up{path=\"primary\"}") == 1;
      if (config.operator_link.paths.size() > 1)
        paths["backup"] = metrics.get("operator_path_up{path=\"backup\"}") == 1;
      body["operator_paths_up"] = paths;
      body["operator_queue"] = metrics.get("operator_queue");
    }
    bool ok = metrics.get("local_connected") == 1;
    body["status"] = ok ? "ok" : "down";
    return {ok, body.dump()};
  }

  void stop(std::function<void()> done) {
    stopping = true;
    if (http) http->stop();
    status_timer.cancel();
    silence_timer.cancel();
    if (alerting) alerting->stop();
    // Commit and acknowledge what we have, then leave: whatever was not
    // acknowledged stays queued at the broker for our next start.
    commit_now();
    if (subscriber) subscriber->stop();
    auto finish = [this, done = std::move(done)] {
      commit_now();
      flush_timer.cancel();
      spdlog::info("GATEWAY_STOPPED last_sequence={}", last_sequence);
      done();
    };
    auto disconnect_both = [this, finish = std::move(finish)]() mutable {
      local->stop(std::chrono::milliseconds(200), [this, finish = std::move(finish)]() mutable {
        upstream->stop(std::chrono::milliseconds(300), std::move(finish));
      });
    };
    if (!upstream || !upstream->connected()) {
      if (!upstream) return done();
      disconnect_both();
      return;
    }
    // A clean disconnect suppresses the last will, so say "offline" ourselves;
    // wait for its PUBACK or 300 ms, whichever comes first.
    auto once = std::make_shared<std::function<void()>>(std::move(disconnect_both));
    auto fire = [once] {
      if (*once) std::exchange(*once, nullptr)();
    };
    upstream->publish(upstream_topic("status"), status_message(false, false), 1, true, [fire](bool) { fire(); });
    goodbye_timer = std::make_unique<asio::steady_timer>(io, std::chrono::milliseconds(300));
    goodbye_timer->async_wait([fire](boost::system::error_code ec) {
      if (!ec) fire();
    });
  }

  // Alarm notices for the room's sounder and the nurse station: kept in order
  // and retried until the local broker takes them; an alarm is never dropped
  // for want of a connection.
  void send_local_notices() {
    if (sending_local_notice || local_notices.empty() || !local->connected()) return;
    sending_local_notice = true;
    const auto& [topic, payload] = local_notices.front();
    local->publish(topic, payload, 1, false, [this](bool ok) {
      sending_local_notice = false;
      if (ok) {
        local_notices.pop_front();
        metrics.add("local_notices_sent_total");
      } else {
        metrics.add("local_publish_failures_total");
        return;  // retried when the link comes back
      }
      send_local_notices();
    });
  }

  // --- ingest ----------------------------------------------------------------

  void handle_local(InboundMessage message, std::uint64_t ack_token) {
    if (stopping) return;  // not acknowledged: the broker keeps it for our persistent session
    if (ack_token != 0) {
      pending_acks.push_back(ack_token);
      // Commit early when the broker's in-flight window is nearly used up,
      // or it stops sending until we acknowledge.
      commit_soon(pending_acks.size() >= kAckBatch ? std::chrono::milliseconds(0) : std::chrono::milliseconds(5));
    }
    if (alerting && message.topic == config.escalation.local_command_topic) return handle_command(message, "console");
    WallTime now = clock.wall_now();
    metrics.add("messages_received_total");
    drivers::Message in{message.topic, message.payload, now, message.retained};
    drivers::Driver* driver = router.find(message.topic);
    auto result = router.decode(in);
    if (!result) {
      reject(message, driver ? driver->name() : "none", result.error(), now);
      return;
    }
    if (driver != nullptr && !result.value().empty()) {
      auto limit = silence_limit.find(driver);
      if (limit != silence_limit.end()) silence.heard(result.value().front().device_id(), now, limit->second);
    }
    for (auto& event : result.value()) forward_event(std::move(event), now);
  }

  // Readings that lose little when the oldest are dropped under the size cap.
  static bool is_routine(eldercare::v1::EventKind kind) {
    return kind == eldercare::v1::EVENT_KIND_VITALS || kind == eldercare::v1::EVENT_KIND_PRESENCE ||
           kind == eldercare::v1::EVENT_KIND_BED || kind == eldercare::v1::EVENT_KIND_WATER_METER;
  }

  // Keeps the database under its cap by dropping the oldest routine readings,
  // delivered ones first; counted, logged, and reported in GatewayStatus.
  void enforce_size_cap() {
    rows_since_size_check = 0;
    const auto cap = static_cast<std::uint64_t>(config.max_database_mb * 1024 * 1024);
    try {
      if (store->used_bytes() <= cap) return;
      Store::Dropped total;
      while (store->used_bytes() > cap * 9 / 10) {
        auto dropped = store->drop_oldest_routine(500);
        if (dropped.delivered + dropped.undelivered == 0) {
          metrics.add("store_over_cap_total");
          if (bad_input_log.admit("store-cap", clock.steady_now()))
            spdlog::error(
                "STORE_OVER_CAP used_bytes={} cap_bytes={} reason=\"nothing droppable left: only alerts "
                "and safety events\"",
                store->used_bytes(), cap);
          break;
        }
        total.delivered += dropped.delivered;
        total.undelivered += dropped.undelivered;
      }
      if (total.undelivered > 0) {
        store->add_to_counter("dropped_events", total.undelivered);
        metrics.add("events_dropped_total{reason=\"size_cap\"}", total.undelivered);
      }
      if (total.delivered + total.undelivered > 0)
        spdlog::warn("EVENTS_DROPPED reason=size_cap undelivered={} delivered={} cap_mb={}", total.undelivered,
                     total.delivered, config.max_database_mb);
    } catch (const StoreError& error) {
      metrics.add("store_errors_total");
      spdlog::error("STORE_CAP_FAILED reason=\"{}\"", error.what());
    }
  }

  // Once a minute, with the silence check: retention of delivered rows, and
  // free disk, reported as a health event of the gateway itself.
  void housekeeping() {
    WallTime now = clock.wall_now();
    write([&] {
      auto removed = store->delete_delivered_before(now - std::chrono::hours(24) * config.retention_days);
      if (removed > 0) metrics.add("rows_expired_total", removed);
    });
    enforce_size_cap();
    std::error_code ec;
    auto directory = std::filesystem::path(config.database).parent_path();
    auto space = std::filesystem::space(directory.empty() ? "." : directory, ec);
    if (ec) return;
    bool low = static_cast<double>(space.available) < config.min_free_disk_mb * 1024 * 1024;
    if (low == disk_low) return;
    disk_low = low;
    spdlog::log(low ? spdlog::level::err : spdlog::level::info, "GATEWAY_DISK_{} free_mb={} threshold_mb={}",
                low ? "LOW" : "OK", space.available / (1024 * 1024), config.min_free_disk_mb);
    eldercare::v1::SensorEvent event;
    event.set_device_id("gateway:" + config.gateway_id);
    event.set_kind(eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
    event.mutable_device_health()->set_condition(low ? eldercare::v1::DeviceHealthPayload::CONDITION_DISK_LOW
                                                     : eldercare::v1::DeviceHealthPayload::CONDITION_DISK_OK);
    *event.mutable_received_time() = to_timestamp(now);
    event.set_driver("gateway");
    forward_event(std::move(event), now);
  }

  // Checked once a minute: a device past its silence limit becomes a health
  // event, as if it had said so itself.
  void check_silence() {
    WallTime now = clock.wall_now();
    for (const auto& device : silence.newly_silent(now)) {
      metrics.add("devices_silent_total");
      spdlog::warn("DEVICE_SILENT device=\"{}\"", device);
      eldercare::v1::SensorEvent event;
      event.set_device_id(device);
      event.set_kind(eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
      event.mutable_device_health()->set_condition(eldercare::v1::DeviceHealthPayload::CONDITION_SILENT);
      *event.mutable_received_time() = to_timestamp(now);
      event.set_driver("gateway");
      forward_event(std::move(event), now);
    }
  }

  void schedule_silence_check() {
    silence_timer.expires_after(std::chrono::seconds(60));
    silence_timer.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      check_silence();
      housekeeping();
      schedule_silence_check();
    });
  }

  void reject(const InboundMessage& message, std::string_view driver, const drivers::DecodeError& error, WallTime now) {
    std::string reason(drivers::to_string(error.code));
    metrics.add("decode_errors_total{driver=\"" + std::string(driver) + "\",reason=\"" + reason + "\"}");
    if (auto suppressed = bad_input_log.admit(message.topic, clock.steady_now())) {
      metrics.add("payload_rejections_logged_total");
      spdlog::warn(
          "PAYLOAD_REJECTED topic=\"{}\" driver={} reason={} detail=\"{}\" bytes={} payload=\"{}\" "
          "suppressed_since_last={}",
          message.topic, driver, reason, error.reason, message.payload.size(), printable(message.payload), *suppressed);
    }
    write([&] { store->add_dead_letter({message.topic, message.payload, reason + ": " + error.reason, now}); });
  }

  void forward_event(eldercare::v1::SensorEvent event, WallTime received) {
    auto device = config.devices.find(event.device_id());
    if (device != config.devices.end()) {
      event.set_resident_id(device->second.resident);
      event.set_room(device->second.room);
      event.set_bed(device->second.bed);
    } else {
      metrics.add("unregistered_device_events_total");
      if (unregistered.insert(event.device_id()).second) {
        metrics.set("unregistered_devices", unregistered.size());
        spdlog::warn("DEVICE_UNREGISTERED device=\"{}\" driver={} topic=\"{}\" hint=\"add it to [[devices]]\"",
                     event.device_id(), event.driver(), event.source_topic());
      }
    }
    event.set_id(uuids.next(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(received.time_since_epoch()).count())));
    event.set_gateway_id(config.gateway_id);
    event.set_sequence(++last_sequence);
    std::string payload = event.SerializeAsString();
    const bool routine = is_routine(event.kind());
    write([&] { store->append_event(event.sequence(), event.id(), payload, received, "event", routine); });
    if (++rows_since_size_check >= kSizeCheckEvery) enforce_size_cap();
    metrics.add("events_total");
    if (!alerting) return;
    if (device != config.devices.end() && is_cancel(device->second, event)) {
      alerting->on_device_cancel(event);  // "I am fine": acknowledges, raises nothing
      return;
    }
    alerting->on_event(event);
  }

  static bool is_cancel(const DeviceEntry& device, const eldercare::v1::SensorEvent& event) {
    if (device.cancel_actions.empty() || !event.has_sos() || !event.sos().active()) return false;
    for (const auto& action : device.cancel_actions)
      if (action == "*" || action == event.sos().vendor_action()) return true;
    return false;
  }

  // An alert transition takes the next number in the same sequence space as
  // events, so the platform sees one gap-free stream.
  void emit_transition(eldercare::v1::AlertTransition transition) {
    transition.set_sequence(++last_sequence);
    std::string payload = transition.SerializeAsString();
    write([&] {
      store->append_event(transition.sequence(), transition.alert_id() + "#" + std::to_string(transition.sequence()),
                          payload, clock.wall_now(), "alert");
    });
    commit_soon(std::chrono::milliseconds(0));  // an alert does not wait for the group commit
  }

  // Downlink: acknowledgements and resolutions for the rule engine, a ping,
  // a request to re-send. Bad commands are kept and counted like bad payloads.
  void handle_command(const InboundMessage& message, std::string_view channel) {
    metrics.add("commands_received_total");
    eldercare::v1::Command command;
    if (!command.ParseFromString(message.payload)) {
      reject(message, "command",
             drivers::DecodeError{drivers::DecodeError::Code::kMalformed, "not a protobuf eldercare.v1.Command"},
             clock.wall_now());
      return;
    }
    spdlog::info("COMMAND_RECEIVED id={} actor={} channel={} body={}", command.id(), command.actor(), channel,
                 static_cast<int>(command.body_case()));
    if (command.has_ping()) {
      if (upstream->connected()) publish_status();
    } else if (command.has_resend_from()) {
      resend_from(command.resend_from().from_sequence());
    } else if (alerting) {
      alerting->on_command(command, channel);
    }
  }

  void resend_from(std::uint64_t from) {
    spdlog::info("RESEND from={}", from);
    forwarder->resend_from(from);
  }

  std::string status_message(bool online, bool unexpected) {
    eldercare::v1::GatewayStatus status;
    status.set_gateway_id(config.gateway_id);
    status.set_site(config.site);
    status.set_online(online);
    status.set_version(EG_VERSION);
    *status.mutable_time() = to_timestamp(clock.wall_now());
    *status.mutable_started_time() = to_timestamp(started);
    status.set_local_broker_connected(subscriber ? subscriber->connected() : local && local->connected());
    try {
      status.set_backlog_events(store->undelivered_count());
      if (auto oldest = store->oldest_undelivered())
        status.set_oldest_undelivered_age_s(static_cast<std::uint64_t>(std::max<long long>(
            0, std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now() - *oldest).count())));
    } catch (const StoreError& error) {
      metrics.add("store_errors_total");
    }
    status.set_last_sequence(last_sequence);
    status.set_unexpected_disconnect(unexpected);
    try {
      if (store) status.set_dropped_events(store->counter("dropped_events"));
    } catch (const StoreError&) {
      metrics.add("store_errors_total");
    }
    return status.SerializeAsString();
  }

  void publish_status() {
    upstream->publish(upstream_topic("status"), status_message(true, false), 1, true, [](bool) {});
  }

  void schedule_status() {
    status_timer.expires_after(std::chrono::seconds(config.status_interval_s));
    status_timer.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      if (upstream->connected()) publish_status();
      schedule_status();
    });
  }

  std::string upstream_topic(std::string_view leaf) const {
    return config.upstream.topic_prefix + "/" + config.site + "/" + config.gateway_id + "/" + std::string(leaf);
  }

  // --- store -----------------------------------------------------------------

  // Runs a store write; the group commits on a short timer. A failing disk is
  // counted and logged, and the event still goes upstream from memory.
  template <typename Fn>
  void write(Fn&& fn) {
    try {
      fn();
    } catch (const StoreError& error) {
      metrics.add("store_errors_total");
      if (auto suppressed = bad_input_log.admit("store", clock.steady_now()))
        spdlog::error("STORE_WRITE_FAILED reason=\"{}\" suppressed_since_last={}", error.what(), *suppressed);
      return;
    }
    commit_soon(std::chrono::milliseconds(5));
  }

  // Group commit: writes gather in one transaction, committed `after` from
  // the first; once committed, their rows may go upstream.
  void commit_soon(std::chrono::milliseconds after) {
    // Already due (at once, or no later than asked): re-arming would only cost
    // a timerfd system call per message.
    if (flush_scheduled && (after.count() > 0 || flush_immediate)) return;
    flush_immediate = after.count() == 0;
    flush_scheduled = true;
    flush_timer.expires_after(after);
    flush_timer.async_wait([this](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted && flush_scheduled) return;  // re-armed sooner
      flush_scheduled = false;
      if (!commit_now()) {
        // Nothing was acknowledged, so the broker may stop sending: retry by
        // ourselves (a full disk may clear) instead of waiting for a message.
        if (!stopping) commit_soon(std::chrono::seconds(1));
        return;
      }
      if (forwarder) forwarder->committed(last_sequence);
    });
  }

  // Commits now and acknowledges what the commit made durable; false if the
  // commit failed (counted and logged).
  bool commit_now() {
    try {
      store->flush();
    } catch (const StoreError& error) {
      metrics.add("store_errors_total");
      spdlog::error("STORE_COMMIT_FAILED reason=\"{}\"", error.what());
      return false;
    }
    acknowledge_committed();
    return true;
  }

  // Everything handled so far is durable: tell the broker it may forget it.
  void acknowledge_committed() {
    if (subscriber)
      for (std::uint64_t token : pending_acks) subscriber->ack(token);
    pending_acks.clear();
  }

  asio::io_context& io;
  GatewayConfig config;
  const Clock& clock;
  Metrics metrics;
  drivers::Router router;
  std::unique_ptr<Store> store;
  std::unique_ptr<MqttLink> local;  // Paho: publishing (and ingest when TLS is needed)
  std::unique_ptr<AckingSubscriber> subscriber;
  std::vector<std::uint64_t> pending_acks;
  static constexpr int kSizeCheckEvery = 256;  // appended rows between size checks
  int rows_since_size_check = 0;
  bool disk_low = false;
  std::deque<std::pair<std::string, std::string>> local_notices;  // (topic, payload) not yet taken by the broker
  bool sending_local_notice = false;  // ingested, acknowledged to the broker at the next commit
  static constexpr std::size_t kAckBatch = 16;
  std::unique_ptr<MqttLink> upstream;
  asio::steady_timer flush_timer;
  asio::steady_timer status_timer;
  asio::steady_timer silence_timer;
  SilenceWatch silence;
  std::map<const drivers::Driver*, std::chrono::seconds> silence_limit;
  std::unique_ptr<asio::steady_timer> goodbye_timer;
  bool flush_scheduled = false;
  bool flush_immediate = false;  // the scheduled commit runs at the next loop turn
  bool stopping = false;
  RateLimitedLog bad_input_log;
  UuidGenerator uuids;
  std::uint64_t last_sequence = 0;
  WallTime started;
  std::set<std::string> unregistered;
  std::optional<rules::RuleSet> pending_rules;  // handed to `alerting` at start
  std::unique_ptr<Alerting> alerting;
  std::unique_ptr<HttpEndpoint> http;
  std::unique_ptr<Forwarder> forwarder;
  std::function<void()> on_ready;
};

Gateway::Gateway(asio::io_context& io, GatewayConfig config, const Clock& clock, std::optional<rules::RuleSet> rules)
    : impl_(std::make_unique<Impl>(io, std::move(config), clock, std::move(rules))) {}
Gateway::~Gateway() = default;
void Gateway::start(std::function<void()> on_ready) {
  impl_->start(std::move(on_ready));
}
void Gateway::stop(std::function<void()> done) {
  impl_->stop(std::move(done));
}
const Metrics& Gateway::metrics() const {
  return impl_->metrics;
}
void Gateway::reload_devices(std::map<std::string, DeviceEntry, std::less<>> devices) {
  spdlog::info("DEVICES_RELOADED count={} was={}", devices.size(), impl_->config.devices.size());
  impl_->config.devices = std::move(devices);
  impl_->unregistered.clear();  // re-announce devices still missing from the new registry
  impl_->metrics.add("device_registry_reloads_total");
}
std::string Gateway::upstream_topic(std::string_view leaf) const {
  return impl_->upstream_topic(leaf);
}

}  // namespace eg::gateway
