// Ingest throughput with persistence on, as a ratio to a plain MQTT subscriber
// on the same broker in the same run.
//
//   (a) baseline  a plain Paho subscriber (QoS 1) on the local mosquitto
//                 receiving M Zigbee2MQTT vitals messages from a Paho publisher
//                 (QoS 1, window 64).
//   (b) gateway   the in-process Gateway (store on a temp file, default
//                 configuration, no rules, the bench's devices registered)
//                 ingesting the same M messages from the same publisher: timed
//                 until its metrics show events_total == M (decoded, stored),
//                 and until all M events arrived at a plain Paho subscriber on
//                 the upstream mosquitto.
//   Every message carries a new heart rate, so every one yields an event.
//
//   ingest_bench [M] [UPSTREAM_MAX_RATE_PER_S]
//     defaults: 100000, and the configuration's default upstream.max_rate_per_s
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <cinttypes>
#include <optional>
#include <sstream>

#include "bench_mqtt.hpp"
#include "eg/gateway/config.hpp"
#include "mosquitto.hpp"
#include "temp_dir.hpp"

using eg::bench::Clock;
using eg::bench::seconds_since;

namespace {

constexpr int kDevices = 40;  // a nursing-home floor: one vitals radar per room
constexpr int kWindow = 64;

struct Message {
  std::string topic, payload;
};

// Message i goes to room 301 + i % 40; each room's heart rate moves by 0.1 bpm
// per message (50.0 .. 149.9, then round again), so no two in a row are equal.
std::vector<Message> make_messages(std::uint64_t m) {
  std::vector<Message> out;
  out.reserve(m);
  for (std::uint64_t i = 0; i < m; ++i) {
    std::uint64_t room = 301 + i % kDevices, step = (i / kDevices) % 1000;
    char payload[128];
    std::snprintf(payload, sizeof payload, R"({"heart_rate":%.1f,"breathing_rate":%d,"linkquality":%d})",
                  50.0 + static_cast<double>(step) / 10.0, static_cast<int>(12 + step % 9),
                  static_cast<int>(100 + i % 50));
    out.push_back({"zigbee2mqtt/room" + std::to_string(room) + "_vitals", payload});
  }
  return out;
}

std::string config_text(const std::string& database, const std::string& local_uri, const std::string& upstream_uri,
                        std::optional<double> max_rate) {
  std::ostringstream toml;
  toml << "[gateway]\nid = \"gw-bench\"\nsite = \"bench\"\ndatabase = \"" << database << "\"\n"
       << "[local]\nuri = \"" << local_uri << "\"\n"
       << "[upstream]\nuri = \"" << upstream_uri << "\"\n";
  if (max_rate) toml << "max_rate_per_s = " << *max_rate << "\n";
  for (int d = 0; d < kDevices; ++d) {
    std::string room = std::to_string(301 + d);
    toml << "[[devices]]\nid = \"room" << room << "_vitals\"\nresident = \"r-" << room << "-a\"\nroom = \"" << room
         << "\"\nbed = \"A\"\n";
  }
  return toml.str();
}

// The sequence of a serialized SensorEvent (field 3), minus one; npos if none.
std::uint64_t sequence_index(const std::string& payload) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                            static_cast<int>(payload.size()));
  while (std::uint32_t tag = in.ReadTag()) {
    if (tag == (3u << 3)) {
      std::uint64_t sequence = 0;
      if (!in.ReadVarint64(&sequence) || sequence == 0) break;
      return sequence - 1;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) break;
  }
  return eg::bench::CountingSubscriber::npos;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t m = argc > 1 ? std::stoull(argv[1]) : 100'000;
  std::optional<double> max_rate;
  if (argc > 2) max_rate = std::stod(argv[2]);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (m == 0) {
    std::fprintf(stderr, "usage: ingest_bench [M] [UPSTREAM_MAX_RATE_PER_S]  (M > 0)\n");
    return 2;
  }
  eg::test::MosquittoBroker local_broker, upstream_broker;
  eg::test::TempDir dir;
  const auto messages = make_messages(m);
  auto message = [&](std::size_t i) {
    return std::pair<const std::string&, const std::string&>(messages[i].topic, messages[i].payload);
  };
  eg::bench::WindowedPublisher sensors(local_broker.uri(), "bench-sensors", kWindow);

  // --- (a) baseline ----------------------------------------------------------
  double baseline_rate = 0;
  {
    eg::bench::CountingSubscriber plain(local_broker.uri(), "bench-plain-subscriber", "zigbee2mqtt/#");
    plain.reset(m);
    auto cpu_before = eg::bench::cpu_seconds();
    auto start = Clock::now();
    sensors.publish_all(m, message);
    double acked = seconds_since(start);
    if (!eg::bench::wait_for([&] { return plain.counted() >= m; }, std::chrono::minutes(5))) {
      std::fprintf(stderr, "ingest_bench: baseline: %" PRIu64 " of %" PRIu64 " arrived\n", plain.counted(), m);
      return 1;
    }
    double seconds = seconds_since(start);
    auto cpu_after = eg::bench::cpu_seconds();
    baseline_rate = static_cast<double>(m) / seconds;
    std::printf("ingest: M=%" PRIu64 " Zigbee2MQTT vitals messages (%d devices), QoS 1, publisher window %d\n", m,
                kDevices, kWindow);
    std::printf("  (a) baseline            %10.0f msgs/s  (plain Paho subscriber: %" PRIu64
                " in %.2f s; publisher all PUBACKed at %.2f s)\n",
                baseline_rate, m, seconds, acked);
    eg::bench::print_cpu("baseline", cpu_before, cpu_after, m);
  }
  long hwm_before = eg::bench::proc_status_kib("VmHWM:");

  // --- (b) the gateway --------------------------------------------------------
  auto config = eg::gateway::parse_config(
      config_text(dir.file("gw.db"), local_broker.uri(), upstream_broker.uri(), max_rate), "ingest_bench.toml");
  const double rate_in_force = config.upstream.max_rate_per_s;
  eg::bench::CountingSubscriber platform(upstream_broker.uri(), "bench-platform",
                                         "eldercare/v1/" + config.site + "/" + config.gateway_id + "/event");
  platform.reset(m, sequence_index);
  eg::SystemClock clock;
  auto constructed = Clock::now();
  eg::bench::RunningGateway gateway(std::move(config), clock);
  const auto& metrics = gateway.metrics();
  // Ready (subscribed locally) and connected upstream, so neither start-up is timed.
  if (!eg::bench::wait_for([&] { return gateway.ready() && metrics.get("upstream_connected") == 1; },
                           std::chrono::seconds(15))) {
    std::fprintf(stderr, "ingest_bench: the gateway did not get ready\n");
    return 1;
  }
  double startup_seconds = seconds_since(constructed);

  auto cpu_before = eg::bench::cpu_seconds();
  std::uint64_t disk_before = eg::bench::disk_write_bytes();
  auto start = Clock::now();
  // The publisher runs beside the poll, so the ingest time is seen to the millisecond.
  std::atomic<double> acked{0};
  std::thread publishing([&] {
    sensors.publish_all(m, message);
    acked = seconds_since(start);
  });
  std::uint64_t upstream_at_ingest = 0;
  bool ingested = eg::bench::wait_for([&] { return metrics.get("events_total") >= m; }, std::chrono::minutes(5));
  double ingest_seconds = seconds_since(start);
  auto cpu_ingested = eg::bench::cpu_seconds();
  std::uint64_t disk_ingested = eg::bench::disk_write_bytes() - disk_before;
  upstream_at_ingest = platform.counted();
  publishing.join();
  if (!ingested) {
    std::fprintf(stderr, "ingest_bench: gateway: events_total %" PRIu64 " of %" PRIu64 "\n",
                 metrics.get("events_total"), m);
    return 1;
  }
  // At the configured rate limit the upstream side needs M / rate seconds.
  auto upstream_limit =
      std::chrono::seconds(300 + (rate_in_force > 0 ? static_cast<long>(static_cast<double>(m) / rate_in_force) : 0));
  if (!eg::bench::wait_for([&] { return platform.counted() == m; }, upstream_limit)) {
    std::fprintf(stderr, "ingest_bench: upstream: %" PRIu64 " of %" PRIu64 " arrived\n", platform.counted(), m);
    return 1;
  }
  double upstream_seconds = seconds_since(start);
  auto cpu_after = eg::bench::cpu_seconds();
  std::uint64_t disk_all = eg::bench::disk_write_bytes() - disk_before;
  long hwm_after = eg::bench::proc_status_kib("VmHWM:");

  double ingest_rate = static_cast<double>(m) / ingest_seconds;
  double upstream_rate = static_cast<double>(m) / upstream_seconds;
  std::printf("  (b) gateway ingest      %10.0f msgs/s  (events_total == %" PRIu64
              " after %.2f s; publisher all PUBACKed at %.2f s; %" PRIu64 " already upstream then)\n",
              ingest_rate, m, ingest_seconds, acked.load(), upstream_at_ingest);
  eg::bench::print_cpu("gateway ingest", cpu_before, cpu_ingested, m);
  std::printf("      ratio               %10.2f (gateway ingest / baseline)\n", ingest_rate / baseline_rate);
  std::printf("      disk writes         %10.1f KiB per event until ingested, %.1f KiB per event until all delivered\n",
              static_cast<double>(disk_ingested) / 1024.0 / static_cast<double>(m),
              static_cast<double>(disk_all) / 1024.0 / static_cast<double>(m));
  std::printf("  (b) upstream arrival    %10.0f events/s (all %" PRIu64
              " at the platform after %.2f s; "
              "upstream.max_rate_per_s = %g%s)\n",
              upstream_rate, m, upstream_seconds, rate_in_force, rate_in_force > 0 ? "" : " (unlimited)");
  eg::bench::print_cpu("whole run", cpu_before, cpu_after, m);
  std::printf("      ratio               %10.2f (upstream arrival / baseline)\n", upstream_rate / baseline_rate);
  std::printf("      start-up            %10.2f s until subscribed locally and connected upstream (not timed above)\n",
              startup_seconds);
  std::printf("      upstream payload    %10.1f B per SensorEvent on average\n",
              static_cast<double>(platform.bytes()) / static_cast<double>(platform.arrivals()));
  std::printf("      counters            messages_received_total %" PRIu64 ", events_total %" PRIu64
              ", events_delivered_total %" PRIu64 ", store_errors_total %" PRIu64 "\n",
              metrics.get("messages_received_total"), metrics.get("events_total"),
              metrics.get("events_delivered_total"), metrics.get("store_errors_total"));
  std::printf("      peak RSS            %10ld KiB (VmHWM; %ld KiB before the gateway phase: messages, clients)\n",
              hwm_after, hwm_before);
  return 0;
}
