// upstream_sink: the platform's side of the scale benchmark (scripts/bench).
// Subscribes at QoS 1 on the upstream broker and measures what arrives:
//
//   events    every message the load generator sent carries its publish time
//             (scale_mix.hpp); it comes back as SensorEvent.sensor_time
//             (--format protobuf, the daemon) or inside the relayed JSON
//             (--format raw, the relay). Distinct publish times = distinct
//             sensor messages through; arrival minus publish time = latency.
//   alarms    protobuf: an AlertTransition whose newest evidence event id is
//             an alarm event (fall detected/suspected, SOS active, gas alarm)
//             not yet counted: from that event's publish time to the arrival
//             of the first transition that names it. raw: the alarm payloads.
//   sequences --expect-sequences N: distinct SensorEvent sequences 1..N (the
//             outbox drain of a pre-filled store).
//
//   upstream_sink --uri URI --filter F [--filter F]... --format protobuf|raw --report FILE
//                 [--ready-file PATH] [--deadline S] [--window S]
//                 [--expect N | --expect-sequences N | --warmup-devices N]
//                 [--resolve-topic T]
//
// Stops when the expectation is met (N distinct timed messages; N sequences;
// N distinct devices heard without a time, the warm-up), when --deadline
// seconds have passed since it was subscribed or --window seconds since the
// first arrival (for a consumer released at an unknown moment), or on
// SIGINT/SIGTERM; then
// writes key=value lines, its own arrival rate and CPU included, so it is
// visible that it was not the bottleneck. --ready-file is created once
// subscribed. --resolve-topic: resolves every alert it sees raised with a
// Command on that topic, as the platform's staff would, so a fall radar's
// alert does not pile up evidence for the whole run.
//
// Paho calls back on its own thread; the callback does the decoding under
// one mutex, and the main thread only polls the counts.
#include <mqtt/async_client.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <google/protobuf/util/time_util.h>

#include "eg/proto/signed_command.hpp"
#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/command.pb.h"
#include "eldercare/v1/sensor_event.pb.h"
#include "scale_mix.hpp"

namespace v1 = eldercare::v1;

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) {
  stop_requested = true;
}

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string uri, format = "protobuf", report = "/dev/stdout", ready_file, resolve_topic;
  std::string key_file;  // command keys: resolutions are signed with its platform key
  std::vector<std::string> filters;
  double deadline_s = 0, window_s = 0;
  std::uint64_t expect = 0, expect_sequences = 0, warmup_devices = 0;
};

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};
Percentiles percentiles_ms(std::vector<std::int64_t> us) {
  if (us.empty()) return {};
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return static_cast<double>(us[static_cast<std::size_t>(q * (us.size() - 1))]) / 1e3; };
  return {at(0.5), at(0.99), static_cast<double>(us.back()) / 1e3};
}

class Sink {
 public:
  explicit Sink(const Options& options) : o_(options), sequence_seen_(options.expect_sequences + 1, false) {
    if (o_.resolve_topic.empty()) return;
    std::ifstream file(o_.key_file);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    for (auto& key : eg::proto::parse_command_keys(text, o_.key_file))
      if (key.role == eg::proto::CommandKey::Role::kPlatform) platform_key_ = key;
    if (platform_key_.id.empty()) throw std::runtime_error("--resolve-topic needs --key-file with a platform key");
  }

  // Paho's thread.
  void arrived(const std::string& topic, const std::string& payload, mqtt::async_client& client) {
    std::int64_t now = wall_us();
    std::lock_guard lock(mu_);
    if (arrivals_++ == 0) first_arrival_ = now;
    last_arrival_ = now;
    bytes_ += payload.size();
    if (o_.format == "raw") return raw(topic, payload, now);
    if (topic.ends_with("/alert")) return alert(payload, now, client);
    if (!topic.ends_with("/event")) return;
    v1::SensorEvent event;
    if (!event.ParseFromString(payload)) {
      ++undecodable_;
      return;
    }
    ++events_;
    if (event.sequence() >= 1 && event.sequence() <= o_.expect_sequences && !sequence_seen_[event.sequence()]) {
      sequence_seen_[event.sequence()] = true;
      ++sequences_;
      last_sequence_arrival_ = now;
    }
    if (!event.has_sensor_time()) return untimed(event.device_id());
    std::int64_t sent = event.sensor_time().seconds() * 1'000'000 + event.sensor_time().nanos() / 1000;
    std::int64_t received = event.received_time().seconds() * 1'000'000 + event.received_time().nanos() / 1000;
    timed(sent, now, event.has_received_time() ? received - sent : -1);
    bool alarm = (event.has_fall() && (event.fall().state() == v1::FallPayload::STATE_DETECTED ||
                                       event.fall().state() == v1::FallPayload::STATE_SUSPECTED)) ||
                 (event.has_sos() && event.sos().active()) || (event.has_gas() && event.gas().alarm());
    if (!alarm) return;
    ++alarm_events_;
    auto waiting = transition_waiting_.find(event.id());
    if (waiting != transition_waiting_.end()) {  // the alert lane overtook the event lane
      alarm_latency_.push_back(waiting->second - sent);
      transition_waiting_.erase(waiting);
    } else {
      alarm_sent_.emplace(event.id(), sent);
    }
  }

  // Main thread.
  std::int64_t first_arrival_us() {
    std::lock_guard lock(mu_);
    return first_arrival_;
  }
  bool done() {
    std::lock_guard lock(mu_);
    if (o_.expect > 0) return timed_ >= o_.expect;
    if (o_.expect_sequences > 0) return sequences_ >= o_.expect_sequences;
    if (o_.warmup_devices > 0) return untimed_devices_.size() >= o_.warmup_devices;
    return false;
  }

  void write_report(const std::string& stop_reason, double cpu_s, std::int64_t subscribed_us) {
    std::lock_guard lock(mu_);
    auto events = percentiles_ms(latency_);
    auto alarms = percentiles_ms(alarm_latency_);
    double span = static_cast<double>(last_timed_ - first_sent_) / 1e6;
    double own_span = static_cast<double>(last_arrival_ - first_arrival_) / 1e6;
    std::ofstream out(o_.report);
    out << "stop=" << stop_reason << "\narrivals=" << arrivals_ << "\nbytes=" << bytes_ << "\nevents=" << events_
        << "\nalerts=" << alerts_ << "\nundecodable=" << undecodable_ << "\ntimed_messages=" << timed_
        << "\nuntimed_devices=" << untimed_devices_.size() << "\nfirst_sent_us=" << first_sent_
        << "\nsubscribed_us=" << subscribed_us << "\nfirst_arrival_us=" << first_arrival_
        << "\nlast_arrival_us=" << last_arrival_ << "\nlast_timed_arrival_us=" << last_timed_
        << "\nthroughput=" << (timed_ > 0 && span > 0 ? static_cast<double>(timed_) / span : 0)
        << "\nown_rate=" << (own_span > 0 ? static_cast<double>(arrivals_) / own_span : 0) << "\ncpu_s=" << cpu_s
        << "\ncpu_util=" << (own_span > 0 ? cpu_s / own_span : 0) << "\nlatency_p50_ms=" << events.p50
        << "\nlatency_p99_ms=" << events.p99 << "\nlatency_max_ms=" << events.max << "\nalarm_events=" << alarm_events_
        << "\nalarms_measured=" << alarm_latency_.size() << "\nalarm_p50_ms=" << alarms.p50
        << "\nalarm_p99_ms=" << alarms.p99 << "\nalarm_max_ms=" << alarms.max << "\ntransitions=" << transitions_
        << "\nraised=" << raised_ << "\nresolves_sent=" << resolves_sent_ << "\nsequences=" << sequences_
        << "\nlast_sequence_arrival_us=" << last_sequence_arrival_ << "\n";
    // Every message's latency in time, so that a tail can be matched with what
    // the daemon did at that moment (its log, checkpoints, housekeeping).
    std::ofstream series(o_.report + ".series");
    series << "# publish_us_from_first latency_us publish_to_daemon_receive_us\n";
    for (auto [sent, latency, to_daemon] : series_)
      series << sent - first_sent_ << ' ' << latency << ' ' << to_daemon << '\n';
  }

 private:
  // to_daemon: publish to the daemon's receive stamp (-1: not known, the relay).
  void timed(std::int64_t sent, std::int64_t now, std::int64_t to_daemon = -1) {
    if (!seen_.insert(sent).second) return;  // a second event of the same message (first-time health aspects)
    ++timed_;
    if (first_sent_ == 0 || sent < first_sent_) first_sent_ = sent;
    last_timed_ = now;
    latency_.push_back(now - sent);
    series_.push_back({sent, now - sent, to_daemon});
  }

  void untimed(const std::string& device) { untimed_devices_.insert(device); }

  void raw(const std::string& topic, const std::string& payload, std::int64_t now) {
    ++events_;
    std::optional<std::int64_t> sent;
    for (const char* key : {"\"last_seen\":\"", "\"timestamp\":\""}) {
      auto at = payload.find(key);
      if (at == std::string::npos) continue;
      at += std::char_traits<char>::length(key);
      auto end = payload.find('"', at);
      if (end != std::string::npos)
        sent = eg::bench::scale::parse_iso_utc_us(std::string_view(payload).substr(at, end - at));
      break;
    }
    if (!sent) return untimed(topic);
    timed(*sent, now);
    for (const char* alarm : {"\"fall_down_status\":\"fall\"", "\"sos\":true", "\"gas\":true"})
      if (payload.find(alarm) != std::string::npos) {
        ++alarm_events_;
        alarm_latency_.push_back(now - *sent);
      }
  }

  void alert(const std::string& payload, std::int64_t now, mqtt::async_client& client) {
    v1::AlertTransition transition;
    if (!transition.ParseFromString(payload)) {
      ++undecodable_;
      return;
    }
    ++alerts_;
    ++transitions_;
    if (transition.from_state() == v1::ALERT_STATE_UNSPECIFIED) {
      ++raised_;
      if (!o_.resolve_topic.empty()) resolve(transition.alert().id(), client);
    }
    const auto& evidence = transition.alert().evidence_event_ids();
    if (evidence.empty()) return;
    const std::string& newest = evidence[evidence.size() - 1];
    if (!counted_evidence_.insert(newest).second) return;  // an earlier transition named it already
    auto sent = alarm_sent_.find(newest);
    if (sent != alarm_sent_.end()) {
      alarm_latency_.push_back(now - sent->second);
      alarm_sent_.erase(sent);
    } else {
      transition_waiting_.emplace(newest, now);  // its event has not arrived yet (or it is no alarm of ours)
    }
  }

  void resolve(const std::string& alert_id, mqtt::async_client& client) {
    v1::Command command;
    command.set_id("bench-sink-" + std::to_string(++resolves_sent_));
    command.set_actor("bench-sink");
    command.set_channel("platform");
    *command.mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    command.mutable_resolve()->set_alert_id(alert_id);
    command.mutable_resolve()->set_note("scale benchmark: resolved on sight");
    client.publish(mqtt::make_message(o_.resolve_topic,
                                      eg::proto::sign_command(command, platform_key_.id, platform_key_.secret), 1,
                                      false));  // never waited on here
  }

  const Options& o_;
  eg::proto::CommandKey platform_key_;  // from --key-file, when resolving
  std::mutex mu_;
  std::uint64_t arrivals_ = 0, bytes_ = 0, events_ = 0, alerts_ = 0, undecodable_ = 0, timed_ = 0;
  std::int64_t first_arrival_ = 0, last_arrival_ = 0, first_sent_ = 0, last_timed_ = 0;
  std::unordered_set<std::int64_t> seen_;
  std::vector<std::int64_t> latency_;
  struct Sample {
    std::int64_t sent, latency, to_daemon;
  };
  std::vector<Sample> series_;  // per message, in arrival order
  std::unordered_set<std::string> untimed_devices_;
  std::uint64_t alarm_events_ = 0, transitions_ = 0, raised_ = 0, resolves_sent_ = 0;
  std::unordered_map<std::string, std::int64_t> alarm_sent_;          // alarm event id -> publish time
  std::unordered_map<std::string, std::int64_t> transition_waiting_;  // evidence id -> transition arrival
  std::unordered_set<std::string> counted_evidence_;
  std::vector<std::int64_t> alarm_latency_;
  std::vector<bool> sequence_seen_;
  std::uint64_t sequences_ = 0;
  std::int64_t last_sequence_arrival_ = 0;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--uri")
      o.uri = value;
    else if (arg == "--filter")
      o.filters.push_back(value);
    else if (arg == "--format")
      o.format = value;
    else if (arg == "--report")
      o.report = value;
    else if (arg == "--ready-file")
      o.ready_file = value;
    else if (arg == "--resolve-topic")
      o.resolve_topic = value;
    else if (arg == "--key-file")
      o.key_file = value;
    else if (arg == "--deadline")
      o.deadline_s = std::stod(value);
    else if (arg == "--window")
      o.window_s = std::stod(value);
    else if (arg == "--expect")
      o.expect = std::stoull(value);
    else if (arg == "--expect-sequences")
      o.expect_sequences = std::stoull(value);
    else if (arg == "--warmup-devices")
      o.warmup_devices = std::stoull(value);
    else
      return false;
  }
  return !o.uri.empty() && !o.filters.empty() && (o.format == "protobuf" || o.format == "raw");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: upstream_sink --uri URI --filter F... --format protobuf|raw --report FILE [--ready-file P]\n"
                 "         [--deadline S] [--window S] [--expect N | --expect-sequences N | --warmup-devices N] "
                 "[--resolve-topic T]\n");
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Sink sink(o);
  mqtt::async_client client(o.uri, "bench-sink-" + std::to_string(::getpid()), mqtt::create_options(MQTTVERSION_3_1_1));
  client.set_message_callback(
      [&](mqtt::const_message_ptr m) { sink.arrived(m->get_topic(), m->get_payload(), client); });
  std::int64_t subscribed_us = 0;
  try {
    mqtt::connect_options options;
    options.set_clean_session(true);
    options.set_connect_timeout(5);
    client.connect(options)->wait();
    for (const auto& filter : o.filters) client.subscribe(filter, 1)->wait();
    // No TCP_NODELAY here, on purpose: tried on 2026-12-05, it made every
    // ~100 ms a ~15 ms stall of the daemon's upstream deliveries (p99 16 ms
    // in two runs, against 2-3 ms without; the relay, which gets no resolve
    // commands, unaffected). The .series file shows such patterns.
  } catch (const mqtt::exception& error) {
    std::fprintf(stderr, "upstream_sink: %s\n", error.what());
    return 1;
  }
  subscribed_us = wall_us();
  if (!o.ready_file.empty()) std::ofstream(o.ready_file) << "subscribed\n";

  const auto start = std::chrono::steady_clock::now();
  std::string reason = "signal";
  while (!stop_requested) {
    if (sink.done()) {
      reason = "complete";
      break;
    }
    if (o.deadline_s > 0 && std::chrono::steady_clock::now() - start > std::chrono::duration<double>(o.deadline_s)) {
      reason = "deadline";
      break;
    }
    if (std::int64_t first = sink.first_arrival_us();
        o.window_s > 0 && first > 0 && static_cast<double>(wall_us() - first) > o.window_s * 1e6) {
      reason = "deadline";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  sink.write_report(reason, cpu, subscribed_us);
  try {
    client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {
    // The broker may be gone already; the report is written.
  }
  return 0;
}
