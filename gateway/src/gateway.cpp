#include "eg/gateway/gateway.hpp"

#include "eg/common/log_text.hpp"

#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <variant>

#include "alerting.hpp"
#include "command_authenticator.hpp"
#include "commit_group.hpp"
#include "device_bindings.hpp"
#include "device_rate_limit.hpp"
#include "eg/drivers/registry.hpp"
#include "eg/drivers/router.hpp"
#include "eg/gateway/acking_subscriber.hpp"
#include "eg/gateway/mqtt_link.hpp"
#include "eg/gateway/store.hpp"
#include "eldercare/v1/command.pb.h"
#include "eldercare/v1/gateway_status.pb.h"
#include "forwarder.hpp"
#include "housekeeping.hpp"
#include "http_endpoint.hpp"
#include "liveness.hpp"
#include "rate_limited_log.hpp"
#include "redelivery_filter.hpp"
#include "registry.hpp"
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

std::int64_t message_key(const InboundMessage& m) {
  return RedeliveryFilter::key(m.packet_id, m.topic, m.payload);
}

// The same message by content alone (the memory-only path and the durable
// session number their copies differently).
std::uint64_t content_hash(const InboundMessage& m) {
  return static_cast<std::uint64_t>(RedeliveryFilter::key(0, m.topic, m.payload));
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
        probe_timer(io_context),
        liveness([this](const std::string& device) { return config.devices.contains(device); },
                 config.devices.size() + config.max_tracked_devices),
        bad_input_log(std::chrono::seconds(60)),
        flood_log(std::chrono::seconds(60)),
        bindings(config.max_tracked_devices),
        flood_limit({config.device_readings_per_s, config.device_reading_burst, config.max_tracked_devices}),
        commands(config.commands.keys, {.window = config.commands.window}),
        pending_rules(std::move(rule_set)) {
    build_router(config, router, liveness);
    bindings.configure(config.devices);
  }

  // --- start and stop ------------------------------------------------------

  void start(std::function<void()> ready) {
    on_ready = std::move(ready);
    started = clock.wall_now();
    if (!commands.has_keys())
      spdlog::warn(
          "COMMANDS_DISABLED no [commands] keys_file: every acknowledgement, resolution and resend will be refused "
          "(docs/security.md)");
    else
      spdlog::info("COMMAND_KEYS file=\"{}\" keys={}", config.commands.keys_file, config.commands.keys.size());
    upstream_down_since = clock.steady_now();
    store = open_store();
    group = std::make_unique<CommitGroup>(store->last_sequence(), kMaxHeld);
    housekeeping = std::make_unique<Housekeeping>(
        *store, config, clock, metrics, liveness.silence(),
        Housekeeping::Hooks{[this](const std::function<void()>& fn) { return write(fn); },
                            [this](eldercare::v1::SensorEvent event) {
                              WallTime now = clock.wall_now();
                              forward_event(std::move(event), now, Origin::kGateway);
                            }});
    for (auto key : store->recent_source_keys(kRecentKeys)) stored_messages.remember(key);
    if (pending_rules) {
      alerting = std::make_unique<Alerting>(
          io, std::move(*pending_rules), config, clock, metrics,
          Alerting::Hooks{[this](eldercare::v1::AlertTransition t) { emit_transition(std::move(t)); },
                          [this](const std::string& topic, std::string payload) {
                            local_notices.push_back({topic, std::move(payload)});
                            send_local_notices();
                          },
                          [this](eldercare::v1::SensorEvent event) {
                            WallTime now = clock.wall_now();
                            *event.mutable_received_time() = to_timestamp(now);
                            forward_event(std::move(event), now, Origin::kGateway);
                          },
                          [this](std::string_view meta, std::string_view alert) {
                            std::int64_t id = 0;
                            write([&] { id = store->add_operator_message(meta, alert); });
                            return id;
                          },
                          [this](std::int64_t id) { write([&] { store->remove_operator_message(id); }); },
                          [this] { return platform_reachable(); }});
      pending_rules.reset();
    }
    // The backlog is not counted here: with a million rows stored that alone
    // takes ~100 ms before READY. It is counted once, when first asked.
    spdlog::info("GATEWAY_STARTING gateway={} site={} database={} last_sequence={}", config.gateway_id, config.site,
                 config.database, group->last_sequence());

    MqttLinkOptions up;
    up.broker = config.upstream;
    up.max_inflight = config.upstream.max_inflight;
    up.log_name = "upstream";
    up.will = LastWill{upstream_topic("status"), status_message(false, true), 1, true};
    up.subscriptions = {upstream_topic("command")};
    upstream = std::make_unique<MqttLink>(io, up);
    upstream->on_message([this](InboundMessage m) { handle_command(m, "platform"); });
    forwarder = std::make_unique<Forwarder>(
        io, *store, *upstream, config.upstream, metrics,
        Forwarder::Hooks{[this](std::string_view leaf) { return upstream_topic(leaf); },
                         // Delivered marks ride with the next group: a
                         // lost one costs a re-send (same id), not a sync.
                         [this](std::function<void()> fn) { write(std::move(fn), kLazyCommit); }});
    forwarder->committed(group->committed_sequence());  // the backlog left by the last run goes first
    upstream->on_connection([this](bool connected) {
      metrics.set("upstream_connected", connected ? 1 : 0);
      upstream_down_since = connected ? std::nullopt : std::optional<SteadyTime>(clock.steady_now());
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
    bool plain_tcp = !config.local.tls.enabled &&
                     AckingSubscriber::parse_uri(config.local.uri, subscriber_options.host, subscriber_options.port);
    if (plain_tcp) {
      subscriber_options.client_id = config.local.client_id;
      subscriber_options.username = config.local.username;
      subscriber_options.password = config.local.password;
      subscriber_options.keep_alive_s = config.local.keep_alive_s;
      subscriber_options.filters = filters;
      subscriber_options.max_packet_bytes = config.local.max_packet_kb * 1024;
      on_local_subscribed = on_subscribed;
      subscriber = make_durable_subscriber();
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

    if (alerting) {
      auto rows = store->load_engine_rows();
      std::optional<std::string> legacy;
      if (rows.empty()) legacy = store->load_engine_state();
      alerting->start(rows, legacy, store->operator_messages());
      if (legacy) write([&] { store->delete_engine_snapshot(); });  // its rows go in the same commit
    }
    start_http();
    upstream->start();
    local->start();
    if (subscriber) subscriber->start();
    schedule_status();
    schedule_silence_check();
    // Say what happened to the store at start, as alerts for the people on
    // site and events upstream (issue 12 #6).
    if (!quarantined_database.empty()) store_replaced_event();
    if (store_in_memory) {
      store_error = "the state directory is unusable: running with an in-memory store";
      store_health_event(false);
    }
  }

  // The database, or a box that still alarms without it: a corrupt file is
  // set aside (renamed with a timestamp) and a fresh one opened; if none can
  // be opened at all, an in-memory store keeps ingest and alarms working
  // (nothing survives a restart; health says degraded).
  std::unique_ptr<Store> open_store() {
    try {
      return std::make_unique<Store>(config.database);
    } catch (const StoreError& error) {
      if (error.corrupt()) {
        quarantined_database = quarantine(config.database);
        spdlog::critical("STORE_QUARANTINED reason=\"{}\" moved_to=\"{}\" (starting with a fresh database)",
                         error.what(), quarantined_database);
        metrics.add("store_quarantined_total");
        try {
          return std::make_unique<Store>(config.database);
        } catch (const StoreError& again) {
          spdlog::critical("STORE_OPEN_FAILED {} (after setting the old file aside)", again.what());
        }
      } else {
        spdlog::critical("STORE_OPEN_FAILED {}", error.what());
      }
    }
    spdlog::critical("STORE_IN_MEMORY database=\"{}\" (alarms work; nothing stored survives a restart)",
                     config.database);
    metrics.set("store_in_memory", 1);
    store_in_memory = true;
    return std::make_unique<Store>(":memory:");
  }

  // Renames the database and its WAL/SHM companions to "<db>.corrupt-<UTC>";
  // returns the new name of the database file.
  std::string quarantine(const std::string& database) {
    std::time_t now = std::chrono::system_clock::to_time_t(clock.wall_now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
    std::string suffix = std::string(".corrupt-") + stamp;
    for (const char* companion : {"-wal", "-shm"}) {
      std::error_code ignored;
      std::filesystem::rename(database + companion, database + suffix + companion, ignored);
    }
    std::error_code ec;
    std::filesystem::rename(database, database + suffix, ec);
    if (ec) spdlog::error("STORE_QUARANTINE_FAILED reason=\"{}\"", ec.message());
    return database + suffix;
  }

  void store_replaced_event() {
    eldercare::v1::SensorEvent event;
    event.set_device_id("gateway:" + config.gateway_id + "/store");
    event.set_kind(eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
    event.mutable_device_health()->set_condition(eldercare::v1::DeviceHealthPayload::CONDITION_STORE_REPLACED);
    event.set_driver("gateway");
    event.set_source_topic("store: unreadable database set aside as " + quarantined_database);
    WallTime now = clock.wall_now();
    *event.mutable_received_time() = to_timestamp(now);
    forward_event(std::move(event), now, Origin::kGateway);
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
    std::uint64_t backlog = 0;
    try {
      backlog = store ? store->undelivered_count() : 0;
    } catch (const StoreError& error) {
      metrics.add("store_errors_total");  // reported below as not writable or as is; never thrown into the loop
    }
    nlohmann::json body = {{"gateway", config.gateway_id},
                           {"site", config.site},
                           {"local_connected", metrics.get("local_connected") == 1},
                           {"upstream_connected", metrics.get("upstream_connected") == 1},
                           {"store_writable", store_writable},
                           {"backlog", backlog},
                           {"alerts_active", alerting ? alerting->active_alerts() : 0},
                           {"last_sequence", group ? group->committed_sequence() : 0}};
    if (!store_writable) {
      body["store_error"] = store_error;
      body["held_in_memory"] = group->held();
    }
    if (config.operator_link.enabled) {
      nlohmann::json paths = nlohmann::json::object();
      paths["primary"] = metrics.get("operator_path_up{path=\"primary\"}") == 1;
      if (config.operator_link.paths.size() > 1)
        paths["backup"] = metrics.get("operator_path_up{path=\"backup\"}") == 1;
      body["operator_paths_up"] = paths;
      body["operator_queue"] = metrics.get("operator_queue");
    }
    // Down when sensor messages cannot come in, or cannot be kept.
    bool ok = metrics.get("local_connected") == 1 && store_writable;
    body["status"] = ok ? "ok" : (store_writable ? "down" : "store-failed");
    if (store_in_memory) body["store"] = "in-memory";
    if (!quarantined_database.empty()) body["store_quarantined"] = quarantined_database;
    if (ok && store_in_memory) body["status"] = "degraded";
    return {ok, body.dump()};
  }

  void stop(std::function<void()> done) {
    stopping = true;
    if (http) http->stop();
    status_timer.cancel();
    silence_timer.cancel();
    probe_timer.cancel();
    if (degraded) degraded->stop();
    if (alerting) alerting->stop();
    // Commit and acknowledge what we have, then leave: whatever was not
    // acknowledged stays queued at the broker for our next start.
    commit_now();
    auto finish = [this, done = std::move(done)] {
      commit_now();
      flush_timer.cancel();
      spdlog::info("GATEWAY_STOPPED last_sequence={}", group ? group->committed_sequence() : 0);
      done();
    };
    auto disconnect_both = [this, finish = std::move(finish)]() mutable {
      local->stop(std::chrono::milliseconds(200), [this, finish = std::move(finish)]() mutable {
        upstream->stop(std::chrono::milliseconds(300), std::move(finish));
      });
    };
    // The committed group's PUBACKs go out before we leave: each one dropped
    // is a message the broker would send again at the next start.
    if (subscriber) {
      auto after_acks = std::make_shared<std::function<void()>>(std::move(disconnect_both));
      subscriber->close_gracefully(std::chrono::milliseconds(200),
                                   [this, after_acks] { leave_upstream(std::move(*after_acks)); });
      return;
    }
    leave_upstream(disconnect_both);
  }

  void leave_upstream(std::function<void()> disconnect_both) {
    if (!upstream || !upstream->connected()) {
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

  // The durable subscriber: a persistent session whose messages are
  // acknowledged only once their rows are committed.
  std::unique_ptr<AckingSubscriber> make_durable_subscriber() {
    auto made = std::make_unique<AckingSubscriber>(io, subscriber_options);
    made->on_message([this](InboundMessage m, std::uint64_t token) { handle_local(std::move(m), token); });
    made->on_connection(on_local_subscribed);
    made->on_oversize([this](const std::string& topic, std::size_t bytes) { oversize(topic, bytes); });
    return made;
  }

  void oversize(const std::string& topic, std::size_t bytes) {
    InboundMessage message{topic, "", false, 1};
    reject(message, "none",
           drivers::DecodeError{drivers::DecodeError::Code::kMalformed,
                                "MQTT packet of " + std::to_string(bytes) + " bytes is over local.max_packet_kb (" +
                                    std::to_string(config.local.max_packet_kb) + "); dropped unread"},
           clock.wall_now());
    metrics.add("oversize_messages_total");
  }

  void handle_local(InboundMessage message, std::uint64_t ack_token) {
    if (stopping) return;  // not acknowledged: the broker keeps it for our persistent session
    if (!store_writable) {
      // Not acknowledged: the broker sends it again once we can store it.
      // Until the memory-only path is subscribed, alarms still count.
      if (!degraded_subscribed) process_in_memory(message);
      return;
    }
    std::optional<std::int64_t> source_key;
    if (ack_token != 0) {
      source_key = message_key(message);
      if (message.dup && stored_messages.contains(*source_key)) {
        // A copy of a message already stored (the broker never saw our
        // PUBACK: a crash, a lost connection): acknowledge, keep nothing.
        metrics.add("duplicates_dropped_total");
        group->ack_after_commit(ack_token);
        commit_soon(std::chrono::milliseconds(0));
        return;
      }
      group->ack_after_commit(ack_token);
      // Commit early when the broker's in-flight window is nearly used up,
      // or it stops sending until we acknowledge.
      commit_soon(group->pending_acks() >= kAckBatch ? std::chrono::milliseconds(0) : config.commit_delay);
    }
    if (alerting && message.topic == config.escalation.local_command_topic) return handle_command(message, "console");
    // Already seen by the rules from memory while the store was failing:
    // stored and forwarded now, not judged twice.
    bool judged = false;
    if (!seen_in_memory.empty()) {
      auto seen = seen_in_memory.find(content_hash(message));
      if (seen != seen_in_memory.end()) {
        judged = true;
        if (--seen->second == 0) seen_in_memory.erase(seen);
      }
    }
    WallTime now = clock.wall_now();
    metrics.add("messages_received_total");
    auto events = decode(message, now);
    if (source_key) {
      stored_messages.remember(*source_key);
      group->stored_message(*source_key);
    }
    for (auto& event : events)
      forward_event(std::move(event), now, judged ? Origin::kJudgedBroker : Origin::kBroker, source_key);
  }

  // Decodes a sensor message (dead-lettering what cannot be read) and notes
  // every device it shows alive; a device back after a reported silence says
  // so with a health event stored with the message.
  std::vector<eldercare::v1::SensorEvent> decode(const InboundMessage& message, WallTime now) {
    drivers::Message in{message.topic, message.payload, now, message.retained};
    drivers::Driver* driver = router.find(message.topic);
    auto result = router.decode(in);
    if (!result) {
      if (driver != nullptr) driver->take_heard();  // a message that cannot be read is not a sign of life
      reject(message, driver ? driver->name() : "none", result.error(), now);
      return {};
    }
    auto events = std::move(result.value());
    if (const auto* route = router.find_route(message.topic)) refuse_unbound(message, *route, events, now);
    if (driver != nullptr) {
      for (const auto& device : liveness.heard(*driver, events, clock.steady_now())) {
        metrics.add("devices_heard_again_total");
        spdlog::info("DEVICE_HEARD_AGAIN device={}", log_quoted(device));
        events.push_back(Housekeeping::health_event(device, eldercare::v1::DeviceHealthPayload::CONDITION_ONLINE, now));
      }
    }
    return events;
  }

  // Drops the events whose device is bound to another driver or topic (see
  // device_bindings.hpp); the message is kept as a dead letter once.
  void refuse_unbound(const InboundMessage& message, const drivers::Router::Route& route,
                      std::vector<eldercare::v1::SensorEvent>& events, WallTime now) {
    std::string_view driver = route.driver->name();
    std::string refused;
    std::erase_if(events, [&](const eldercare::v1::SensorEvent& event) {
      switch (bindings.check(event.device_id(), driver, route.filter, message.topic)) {
        case DeviceBindings::Verdict::kAccepted:
          return false;
        case DeviceBindings::Verdict::kLearned:
          metrics.set("device_bindings", bindings.learned());
          return false;
        case DeviceBindings::Verdict::kUnbound:
          metrics.add("device_bindings_full_total");
          return false;
        case DeviceBindings::Verdict::kRefused:
          break;
      }
      metrics.add("device_binding_refusals_total{driver=\"" + std::string(driver) + "\"}");
      if (refused.empty()) refused = event.device_id();
      return true;
    });
    if (refused.empty()) return;
    const auto* bound = bindings.find(refused);
    std::string detail = "device '" + refused + "' is bound to " +
                         (bound ? "driver " + bound->driver + " on " + bound->topic_filter : "its registry entry") +
                         ", not driver " + std::string(driver) + " on " + std::string(message.topic);
    if (auto suppressed = bad_input_log.admit(message.topic, clock.steady_now()))
      spdlog::warn("DEVICE_BINDING_REFUSED topic={} driver={} device={} detail={} suppressed_since_last={}",
                   log_quoted(message.topic), driver, log_quoted(refused), log_quoted(detail), *suppressed);
    if (store_writable)
      write([&] { store->add_dead_letter({message.topic, message.payload, "binding: " + detail, now}); });
  }

  // --- the memory-only alarm path, while the store cannot write ----------------

  // A message seen while nothing can be stored: the rules judge it, so alarms
  // reach the room and the nurse station; it is not acknowledged on the
  // durable session, which gets it again once the store writes.
  void process_in_memory(const InboundMessage& message) {
    if (alerting && message.topic == config.escalation.local_command_topic) return handle_command(message, "console");
    metrics.add("messages_in_memory_total");
    if (seen_in_memory.size() < kMaxSeenInMemory) ++seen_in_memory[content_hash(message)];
    WallTime now = clock.wall_now();
    for (auto& event : decode(message, now)) forward_event(std::move(event), now, Origin::kMemoryOnly);
  }

  void start_memory_only_ingest() {
    if (!subscriber || degraded) return;
    AckingSubscriber::Options options = subscriber_options;
    options.client_id += "-memory";
    options.clean_session = true;  // sees only what is published now; the durable session keeps its queue
    degraded = std::make_unique<AckingSubscriber>(io, options);
    degraded->on_message([this](InboundMessage m, std::uint64_t token) {
      if (!degraded) return;
      degraded->ack(token);  // a throw-away session: the durable one still holds the message
      if (!stopping && !store_writable) process_in_memory(m);
    });
    degraded->on_connection([this](bool connected) {
      degraded_subscribed = connected;
      // Once the memory path hears everything, the durable session leaves:
      // the broker queues for it and re-sends what it never saw acknowledged.
      if (connected && subscriber && !store_writable) subscriber->stop();
    });
    degraded->start();
  }

  void end_memory_only_ingest() {
    if (degraded) degraded->stop();
    degraded.reset();
    degraded_subscribed = false;
    if (subscriber && !stopping) {
      subscriber->stop();
      subscriber = make_durable_subscriber();
      subscriber->start();
    }
  }

  // Readings that lose little when the oldest are dropped under the size cap.
  void schedule_silence_check() {
    silence_timer.expires_after(std::chrono::seconds(60));
    silence_timer.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      housekeeping->every_minute();
      schedule_silence_check();
    });
  }

  void reject(const InboundMessage& message, std::string_view driver, const drivers::DecodeError& error, WallTime now) {
    if (!store_writable) {
      metrics.add("decode_errors_total{driver=\"" + std::string(driver) + "\",reason=\"" +
                  std::string(drivers::to_string(error.code)) + "\"}");
      return;  // the durable session re-sends it; it is dead-lettered then
    }
    std::string reason(drivers::to_string(error.code));
    metrics.add("decode_errors_total{driver=\"" + std::string(driver) + "\",reason=\"" + reason + "\"}");
    if (auto suppressed = bad_input_log.admit(message.topic, clock.steady_now())) {
      metrics.add("payload_rejections_logged_total");
      spdlog::warn(
          "PAYLOAD_REJECTED topic={} driver={} reason={} detail={} bytes={} payload={} suppressed_since_last={}",
          log_quoted(message.topic), driver, reason, log_quoted(error.reason), message.payload.size(),
          log_quoted(message.payload, 120), *suppressed);
    }
    write([&] { store->add_dead_letter({message.topic, message.payload, reason + ": " + error.reason, now}); });
  }

  // Where an event comes from decides what happens when it cannot be stored:
  // the broker re-sends its own messages (not acknowledged), the gateway's
  // own events wait in memory, and from the memory-only path nothing is kept.
  enum class Origin { kBroker, kJudgedBroker, kGateway, kMemoryOnly };

  void forward_event(eldercare::v1::SensorEvent event, WallTime received, Origin origin,
                     std::optional<std::int64_t> source_key = std::nullopt) {
    // Only what comes to be stored counts against a device: the memory-only
    // path keeps nothing, and the durable session brings the same messages
    // again, which would otherwise pay twice.
    if ((origin == Origin::kBroker || origin == Origin::kJudgedBroker) && Housekeeping::is_routine(event.kind()) &&
        !flood_limit.admit(event.device_id(), clock.steady_now())) {
      metrics.add("device_readings_dropped_total");
      metrics.set("rate_limited_devices", flood_limit.tracked());
      if (auto suppressed = flood_log.admit(event.device_id(), clock.steady_now()))
        spdlog::warn("DEVICE_FLOODING device={} topic={} limit_per_s={} dropped_since_last={}",
                     log_quoted(event.device_id()), log_quoted(event.source_topic()), config.device_readings_per_s,
                     *suppressed);
      return;  // acknowledged with its group like a repeated state: nothing new to keep
    }
    auto device = config.devices.find(event.device_id());
    if (device != config.devices.end()) {
      annotate(device->second, event);
    } else {
      metrics.add("unregistered_device_events_total");
      if (unregistered.size() < config.max_tracked_devices && unregistered.insert(event.device_id()).second) {
        metrics.set("unregistered_devices", unregistered.size());
        spdlog::warn("DEVICE_UNREGISTERED device={} driver={} topic={} hint=\"add it to [[devices]]\"",
                     log_quoted(event.device_id()), event.driver(), log_quoted(event.source_topic()));
      }
    }
    event.set_id(uuids.next(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(received.time_since_epoch()).count())));
    event.set_gateway_id(config.gateway_id);
    bool stored = false;
    if (origin != Origin::kMemoryOnly && store_writable) {
      // A sequence number only for a row that is written: a failed write
      // takes it back, so the platform never sees a hole.
      event.set_sequence(group->next_sequence());
      std::string payload = event.SerializeAsString();
      const bool routine = Housekeeping::is_routine(event.kind());
      stored = write(
          [&] { store->append_event(event.sequence(), event.id(), payload, received, "event", routine, source_key); });
      if (stored) {
        if (origin == Origin::kGateway)
          group->stored_own(event.sequence(), event);
        else
          group->stored(event.sequence());
        housekeeping->row_appended();
        metrics.add("events_total");
      }
    }
    if (!stored && origin == Origin::kGateway) hold(event);
    if (!alerting || origin == Origin::kJudgedBroker) return;
    if (device != config.devices.end() && is_cancel(device->second, event)) {
      alerting->on_device_cancel(event);  // "I am fine": resolves its call if soon, else acknowledges
      return;
    }
    alerting->on_event(event);
  }

  // An alert transition takes the next number in the same sequence space as
  // events, so the platform sees one gap-free stream.
  void emit_transition(eldercare::v1::AlertTransition transition) {
    if (!store_writable || !store_transition(transition)) {
      hold(std::move(transition));  // numbered and stored once the store writes again
      return;
    }
    commit_soon(std::chrono::milliseconds(0));  // an alert does not wait for the group commit
  }

  bool store_transition(eldercare::v1::AlertTransition& transition) {
    transition.set_sequence(group->next_sequence());
    std::string payload = transition.SerializeAsString();
    bool ok = write([&] {
      store->append_event(transition.sequence(), transition.alert_id() + "#" + std::to_string(transition.sequence()),
                          payload, clock.wall_now(), "alert");
    });
    if (!ok) return false;
    group->stored_own(transition.sequence(), transition);
    return true;
  }

  // Kept in memory while the store fails: the gateway's own events and alert
  // transitions (the broker re-sends sensor messages by itself). Bounded.
  void hold(CommitGroup::OwnRow row) {
    group->hold(std::move(row));
    metrics.set("held_in_memory", group->held());
    metrics.set("held_dropped_total", group->held_dropped());
  }

  // Downlink and console: acknowledgements, resolutions and away notices for
  // the rule engine; a ping and a resend from the platform. Only a command
  // the authenticator accepts is read; the rest are counted, logged with
  // their reason and kept as dead letters, and change nothing.
  void handle_command(const InboundMessage& message, std::string_view channel) {
    metrics.add("commands_received_total");
    WallTime now = clock.wall_now();
    auto verdict = commands.verify(message.payload, channel, now);
    metrics.set("command_ids_remembered", commands.remembered());
    if (!verdict.command) return refuse_command(message, channel, to_string(verdict.refusal), verdict.key_id, now);
    const auto& command = *verdict.command;
    metrics.add("commands_authenticated_total");
    spdlog::info("COMMAND_RECEIVED id={} key={} actor={} channel={} body={}", log_quoted(command.id()),
                 log_quoted(verdict.key_id), log_quoted(command.actor()), channel,
                 static_cast<int>(command.body_case()));
    if (command.has_ping()) {
      if (upstream->connected()) publish_status();
    } else if (command.has_resend_from()) {
      if (auto refused = resend_refusal(command.resend_from().from_sequence()); !refused.empty())
        return refuse_command(message, channel, refused, verdict.key_id, now);
      resend_from(command.resend_from().from_sequence());
    } else if (alerting) {
      alerting->on_command(command, channel);
    }
  }

  void refuse_command(const InboundMessage& message, std::string_view channel, std::string_view reason,
                      const std::string& key_id, WallTime now) {
    metrics.add("commands_rejected_total{reason=\"" + std::string(reason) + "\"}");
    if (auto suppressed = bad_input_log.admit(message.topic, clock.steady_now()))
      spdlog::warn("COMMAND_REJECTED topic={} channel={} reason={} key={} bytes={} suppressed_since_last={}",
                   log_quoted(message.topic), channel, reason, log_quoted(key_id), message.payload.size(), *suppressed);
    if (store_writable)
      write([&] { store->add_dead_letter({message.topic, message.payload, "command: " + std::string(reason), now}); });
  }

  // A resend replays stored rows upstream: it reaches back a bounded
  // distance and comes at most once per interval. Empty: allowed.
  std::string resend_refusal(std::uint64_t from) {
    const std::uint64_t last = group->committed_sequence();
    if (from > last + 1 || last + 1 - from > config.commands.resend_max_rows) return "resend_out_of_range";
    SteadyTime now = clock.steady_now();
    if (last_resend && now - *last_resend < config.commands.resend_min_interval) return "resend_rate_limited";
    last_resend = now;
    return {};
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
    status.set_last_sequence(group->committed_sequence());
    status.set_unexpected_disconnect(unexpected);
    status.set_store_failed(!store_writable);
    status.set_store_error(store_error);
    try {
      if (store) status.set_dropped_events(store->counter("dropped_events"));
    } catch (const StoreError&) {
      metrics.add("store_errors_total");
    }
    return status.SerializeAsString();
  }

  // The platform rung of a ladder counts as reachable while the uplink is
  // up or has been down only briefly (a reconnect, the first connect after
  // start); beyond that, ladders skip it and say so.
  static constexpr std::chrono::seconds kUplinkGrace{30};
  bool platform_reachable() const {
    return !upstream_down_since || clock.steady_now() - *upstream_down_since < kUplinkGrace;
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

  // Runs a store write in the open group; the group commits on a short
  // timer. A failed write dooms the whole group (store_failed): false.
  template <typename Fn>
  bool write(Fn&& fn, std::optional<std::chrono::milliseconds> commit_within = std::nullopt) {
    if (!store_writable) return false;
    try {
      fn();
    } catch (const StoreError& error) {
      store_failed(error.what());
      return false;
    }
    commit_soon(commit_within.value_or(config.commit_delay));
    return true;
  }
  static constexpr std::chrono::milliseconds kLazyCommit{100};

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
      if (commit_now() && forwarder) forwarder->committed(group->committed_sequence());
    });
  }

  // Commits the open group (with the rule engine's changed rows) and then,
  // only then, acknowledges its messages to the broker. False if it failed:
  // the group is gone, its acknowledgements are never sent (store_failed).
  bool commit_now() {
    if (!store_writable) return false;
    try {
      if (alerting) store->save_engine_rows(alerting->take_state_changes());
      store->flush();
    } catch (const StoreError& error) {
      store_failed(error.what());
      return false;
    }
    // Everything in the group is durable: the broker may forget it.
    auto acks = group->committed();
    if (subscriber)
      for (std::uint64_t token : acks) subscriber->ack(token);
    return true;
  }

  // A write or commit failed (disk full, I/O error, locked or corrupt file):
  // the open group is rolled back whole and nothing of it is acknowledged, so
  // the broker keeps those messages; their sequence numbers are taken back.
  // Ingest pauses on the durable session, alarms go on from memory, and a
  // probe retries the store every second until it writes again.
  void store_failed(const std::string& reason) {
    metrics.add("store_errors_total");
    const bool first = store_writable;
    store_writable = false;
    store_error = reason;
    store->rollback();
    auto lost = group->lost();
    metrics.add("acks_withheld_total", lost.acks_withheld);
    for (auto key : lost.message_keys) stored_messages.forget(key);
    metrics.set("held_in_memory", group->held());
    rewrite_engine_state = alerting != nullptr;  // its changed rows went with the group
    // The drivers remember the values of the lost group as reported: the
    // broker's copies must count as news again, or they would yield nothing.
    router.forget_state();
    metrics.set("store_writable", 0);
    if (!first) return;
    spdlog::error(
        "STORE_FAILED reason=\"{}\" action=\"nothing acknowledged that is not stored; ingest paused at the "
        "broker; alarms raised from memory; retrying every second\"",
        reason);
    start_memory_only_ingest();
    store_health_event(false);
    if (upstream && upstream->connected()) publish_status();
    schedule_probe();
  }

  void schedule_probe() {
    probe_timer.expires_after(std::chrono::seconds(1));
    probe_timer.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      probe_store();
    });
  }

  // Back to normal once a small commit goes through: what waited in memory
  // is numbered and stored first, then the durable session resumes.
  void probe_store() {
    try {
      store->probe();
      store_writable = true;
      if (rewrite_engine_state) store->replace_engine_rows(alerting->all_state_rows());
      rewrite_engine_state = false;
      // Taken off `held` only once written: a failure puts the group's
      // part back (store_failed) and leaves the rest where it was.
      while (group->has_held()) {
        if (auto* t = std::get_if<eldercare::v1::AlertTransition>(&group->front_held())) {
          if (!store_transition(*t)) throw StoreError(store_error);
        } else {
          auto& event = std::get<eldercare::v1::SensorEvent>(group->front_held());
          event.set_sequence(group->next_sequence());
          std::string payload = event.SerializeAsString();
          WallTime received = clock.wall_now();
          if (!write([&] { store->append_event(event.sequence(), event.id(), payload, received, "event"); }))
            throw StoreError(store_error);
          group->stored_own(event.sequence(), event);
        }
        group->pop_held();
      }
      metrics.set("held_in_memory", 0);
      if (!commit_now()) throw StoreError(store_error);
    } catch (const StoreError& error) {
      if (store_writable) store_failed(error.what());  // failed half-way: roll back, try again later
      store_writable = false;
      schedule_probe();
      return;
    }
    spdlog::info("STORE_WRITABLE action=\"ingest resumes; the broker re-sends what was not acknowledged\"");
    metrics.set("store_writable", 1);
    metrics.add("store_recoveries_total");
    store_error.clear();
    if (forwarder) forwarder->committed(group->committed_sequence());
    router.forget_state();  // what the memory-only path decoded comes again, to be stored
    end_memory_only_ingest();
    store_health_event(true);
    if (upstream && upstream->connected()) publish_status();
  }

  // The gateway's own health event: it raises (and clears) the
  // gateway-store-failed alert for the people on site.
  void store_health_event(bool ok) {
    eldercare::v1::SensorEvent event;
    event.set_device_id("gateway:" + config.gateway_id + "/store");
    event.set_kind(eldercare::v1::EVENT_KIND_DEVICE_HEALTH);
    event.mutable_device_health()->set_condition(ok ? eldercare::v1::DeviceHealthPayload::CONDITION_STORE_OK
                                                    : eldercare::v1::DeviceHealthPayload::CONDITION_STORE_FAILED);
    event.set_driver("gateway");
    event.set_source_topic(ok ? "store writable" : "store: " + store_error);
    WallTime now = clock.wall_now();
    *event.mutable_received_time() = to_timestamp(now);
    forward_event(std::move(event), now, Origin::kGateway);
  }

  asio::io_context& io;
  GatewayConfig config;
  const Clock& clock;
  Metrics metrics;
  drivers::Router router;
  std::unique_ptr<Store> store;
  std::string quarantined_database;  // where a corrupt database was moved at start
  bool store_in_memory = false;      // no usable database: nothing survives a restart
  std::unique_ptr<MqttLink> local;   // Paho: publishing (and ingest when TLS is needed)
  std::unique_ptr<AckingSubscriber> subscriber;
  AckingSubscriber::Options subscriber_options;
  std::function<void(bool)> on_local_subscribed;
  std::unique_ptr<AckingSubscriber> degraded;  // the memory-only alarm path while the store fails
  bool degraded_subscribed = false;
  std::unique_ptr<CommitGroup> group;  // from start(): the open group's ledger
  bool store_writable = true;
  std::string store_error;
  bool rewrite_engine_state = false;
  static constexpr std::size_t kMaxHeld = 10'000;
  // Messages the rules judged from memory, by content: judged once only.
  std::unordered_map<std::uint64_t, std::uint32_t> seen_in_memory;
  static constexpr std::size_t kMaxSeenInMemory = 100'000;
  static constexpr std::size_t kRecentKeys = 4096;  // well over the broker's in-flight window
  RedeliveryFilter stored_messages{kRecentKeys};
  std::deque<std::pair<std::string, std::string>> local_notices;  // (topic, payload) not yet taken by the broker
  bool sending_local_notice = false;  // ingested, acknowledged to the broker at the next commit
  static constexpr std::size_t kAckBatch = 16;
  std::unique_ptr<MqttLink> upstream;
  asio::steady_timer flush_timer;
  asio::steady_timer status_timer;
  asio::steady_timer silence_timer;
  asio::steady_timer probe_timer;
  Liveness liveness;
  std::unique_ptr<asio::steady_timer> goodbye_timer;
  bool flush_scheduled = false;
  bool flush_immediate = false;  // the scheduled commit runs at the next loop turn
  bool stopping = false;
  RateLimitedLog bad_input_log;
  RateLimitedLog flood_log;
  DeviceBindings bindings;
  DeviceRateLimit flood_limit;
  CommandAuthenticator commands;
  std::optional<SteadyTime> last_resend;  // resends are rate-limited
  UuidGenerator uuids;
  WallTime started;
  // Since when the uplink has been down (from start until first connected).
  std::optional<SteadyTime> upstream_down_since;
  std::set<std::string> unregistered;
  std::optional<rules::RuleSet> pending_rules;  // handed to `alerting` at start
  std::unique_ptr<Alerting> alerting;
  std::unique_ptr<HttpEndpoint> http;
  std::unique_ptr<Forwarder> forwarder;
  std::unique_ptr<Housekeeping> housekeeping;
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
  impl_->bindings.configure(impl_->config.devices);
  impl_->metrics.add("device_registry_reloads_total");
}
std::string Gateway::upstream_topic(std::string_view leaf) const {
  return impl_->upstream_topic(leaf);
}

}  // namespace eg::gateway
