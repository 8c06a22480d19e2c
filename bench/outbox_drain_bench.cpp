// Outbox drain rate (rows/s) for a 1,000,000-row backlog.
//
//   fill     N serialized vitals SensorEvents (~120 bytes) appended to a fresh
//            store (eg::gateway::Store) in group commits of 1,000 rows.
//   (a)      the store-side ceiling: the drain's own queries, no network:
//            Store::undelivered in batches of 512, mark_delivered for each row,
//            a commit per batch, and again with a commit per 64 rows (about
//            what the gateway's 5 ms group commit gathers), each on a copy of
//            the filled database. Disk writes per row and commit latencies
//            (the loop is stalled for as long as a commit takes) are printed.
//   (b)      the real drain: an in-process Gateway (upstream.max_rate_per_s = 0,
//            max_inflight 64) started on the filled database against a real
//            mosquitto, until a plain Paho subscriber has the first N_DRAIN
//            sequences (a backlog of N rows, measured over its first N_DRAIN).
//   baseline a plain Paho publisher sending the same N_DRAIN payloads at QoS 1
//            with the same in-flight window to the same broker, counted by the
//            same subscriber, in the same run (before the drain).
//
//   outbox_drain_bench [N] [N_DRAIN]      defaults: 1000000 and 200000
#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <cinttypes>
#include <filesystem>

#include "bench_mqtt.hpp"
#include "eg/gateway/store.hpp"
#include "eldercare/v1/sensor_event.pb.h"
#include "mosquitto.hpp"
#include "temp_dir.hpp"

namespace v1 = eldercare::v1;
using eg::bench::Clock;
using eg::bench::seconds_since;

namespace {

constexpr std::size_t kDrainBatch = 512;  // the forwarder's read batch (forwarder.cpp kReadBatch)
constexpr std::size_t kFillCommit = 1000;
constexpr int kWindow = 64;
const char* const kGatewayId = "gw-bench";
const char* const kSite = "bench";

std::uint64_t mix(std::uint64_t x) {  // splitmix64: ids and readings are a pure function of the sequence
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string uuid_for(std::uint64_t sequence) {
  std::uint64_t hi = mix(sequence), lo = mix(sequence ^ 0x5555555555555555ULL);
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return text;
}

const eg::WallTime kStart{std::chrono::seconds(1'767'225'600)};  // 2026-01-01Z

eg::WallTime received_at(std::uint64_t sequence) {
  return kStart + std::chrono::milliseconds(50 * sequence);  // 20 events/s across the site
}

// What the gateway stores for a vitals radar in one of 40 rooms, field by field
// as forward_event() fills it in.
v1::SensorEvent make_event(std::uint64_t sequence) {
  const std::string room = std::to_string(301 + sequence % 40);
  v1::SensorEvent event;
  event.set_id(uuid_for(sequence));
  event.set_gateway_id(kGatewayId);
  event.set_sequence(sequence);
  event.set_device_id("room" + room + "_vitals");
  event.set_resident_id("r-" + room + "-a");
  event.set_room(room);
  event.set_bed("A");
  event.set_kind(v1::EVENT_KIND_VITALS);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(received_at(sequence).time_since_epoch()).count();
  event.mutable_received_time()->set_seconds(ns / 1'000'000'000);
  event.mutable_received_time()->set_nanos(static_cast<int>(ns % 1'000'000'000));
  event.set_driver("zigbee2mqtt");
  event.set_source_topic("zigbee2mqtt/room" + room + "_vitals");
  std::uint64_t r = mix(sequence * 7 + 1);
  event.mutable_vitals()->set_heart_rate_bpm(static_cast<double>(55 + r % 60));
  event.mutable_vitals()->set_breathing_rate_per_min(static_cast<double>(10 + (r >> 8) % 15));
  return event;
}

// The sequence of a serialized SensorEvent (field 3), minus one; npos if none.
std::uint64_t sequence_index(const std::string& payload) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                            static_cast<int>(payload.size()));
  while (std::uint32_t tag = in.ReadTag()) {
    if (tag == (3u << 3)) {  // field 3, varint
      std::uint64_t sequence = 0;
      if (!in.ReadVarint64(&sequence) || sequence == 0) break;
      return sequence - 1;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) break;
  }
  return eg::bench::CountingSubscriber::npos;
}

struct FillResult {
  double seconds;
  std::uint64_t payload_bytes;
  double first_rate, last_rate;  // rows/s over the first and the last tenth
  std::uint64_t disk_bytes;
  eg::bench::Percentiles commit_ms;
};

FillResult fill(const std::string& path, std::uint64_t n) {
  eg::gateway::Store store(path);
  std::uint64_t bytes = 0;
  const std::uint64_t tenth = std::max<std::uint64_t>(1, n / 10);
  double first_rate = 0, last_tenth_start = 0;
  std::vector<double> commits;
  std::uint64_t disk_before = eg::bench::disk_write_bytes();
  auto start = Clock::now();
  for (std::uint64_t sequence = 1; sequence <= n; ++sequence) {
    v1::SensorEvent event = make_event(sequence);
    std::string payload = event.SerializeAsString();
    bytes += payload.size();
    store.append_event(sequence, event.id(), payload, received_at(sequence));
    if (sequence % kFillCommit == 0) {
      auto t = Clock::now();
      store.flush();
      commits.push_back(seconds_since(t));
    }
    if (sequence == tenth) first_rate = static_cast<double>(tenth) / seconds_since(start);
    if (sequence == n - tenth) last_tenth_start = seconds_since(start);
  }
  store.flush();
  double seconds = seconds_since(start);
  return {seconds,
          bytes,
          first_rate,
          static_cast<double>(tenth) / (seconds - last_tenth_start),
          eg::bench::disk_write_bytes() - disk_before,
          eg::bench::percentiles_ms(std::move(commits))};
}

struct CeilingResult {
  double seconds, read_seconds, mark_seconds;
  std::uint64_t rows, bytes, left, disk_bytes;
  eg::bench::Percentiles commit_ms;
};

// The forwarder's store traffic for a whole drain, without the network: reads
// of 512 rows, each row marked delivered, a commit every `commit_every` rows.
CeilingResult store_ceiling(const std::string& path, std::uint64_t n, std::size_t commit_every) {
  eg::gateway::Store store(path);
  CeilingResult result{};
  std::vector<double> commits;
  std::uint64_t cursor = 0, marked = 0;
  std::uint64_t disk_before = eg::bench::disk_write_bytes();
  auto start = Clock::now();
  while (true) {
    auto t0 = Clock::now();
    auto rows = store.undelivered("event", cursor, n, kDrainBatch);
    auto t1 = Clock::now();
    if (rows.empty()) break;
    for (const auto& row : rows) {
      store.mark_delivered(row.sequence);
      result.bytes += row.payload.size();
      if (++marked % commit_every == 0) {
        auto t = Clock::now();
        store.flush();
        commits.push_back(seconds_since(t));
      }
    }
    result.read_seconds += std::chrono::duration<double>(t1 - t0).count();
    result.mark_seconds += seconds_since(t1);
    result.rows += rows.size();
    cursor = rows.back().sequence;
  }
  store.flush();
  result.seconds = seconds_since(start);
  result.disk_bytes = eg::bench::disk_write_bytes() - disk_before;
  result.commit_ms = eg::bench::percentiles_ms(std::move(commits));
  result.left = store.undelivered_count();
  return result;
}

eg::gateway::GatewayConfig drain_config(const eg::test::MosquittoBroker& local,
                                        const eg::test::MosquittoBroker& upstream, const std::string& database) {
  eg::gateway::GatewayConfig config;
  config.gateway_id = kGatewayId;
  config.site = kSite;
  config.database = database;
  config.local.uri = local.uri();
  config.local.client_id = "gw-bench-local";
  config.upstream.uri = upstream.uri();
  config.upstream.client_id = "gw-bench-upstream";
  config.upstream.max_rate_per_s = 0;  // unlimited: measure the drain, not the limiter
  config.upstream.max_inflight = kWindow;
  config.drivers.push_back({"zigbee2mqtt", "zigbee2mqtt"});
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  const std::uint64_t n_drain = std::min<std::uint64_t>(n, argc > 2 ? std::stoull(argv[2]) : 200'000);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (n == 0 || n_drain == 0) {
    std::fprintf(stderr, "usage: outbox_drain_bench [N] [N_DRAIN]  (both > 0)\n");
    return 2;
  }
  eg::test::TempDir dir;
  const std::string database = dir.file("outbox.db");
  const std::string copy = dir.file("outbox-ceiling.db");

  std::printf("outbox drain: backlog N=%" PRIu64 " rows, network drain measured over the first N_DRAIN=%" PRIu64
              " rows, window %d\n",
              n, n_drain, kWindow);

  // --- fill ----------------------------------------------------------------
  auto filled = fill(database, n);
  auto file_mib = static_cast<double>(std::filesystem::file_size(database)) / (1 << 20);
  std::printf("  fill                    %10.0f rows/s  (%" PRIu64
              " rows in %.1f s, commits of %zu, payload %.1f B avg, "
              "db %.0f MiB)\n",
              static_cast<double>(n) / filled.seconds, n, filled.seconds, kFillCommit,
              static_cast<double>(filled.payload_bytes) / static_cast<double>(n), file_mib);
  std::printf("      by position         %10.0f rows/s over the first tenth, %.0f rows/s over the last\n",
              filled.first_rate, filled.last_rate);
  std::printf("      disk writes         %10.1f KiB per row; commit p50 %.2f ms, p99 %.2f ms, max %.1f ms\n",
              static_cast<double>(filled.disk_bytes) / 1024.0 / static_cast<double>(n), filled.commit_ms.p50,
              filled.commit_ms.p99, filled.commit_ms.max);

  // --- (a) store-side ceiling, on copies --------------------------------------
  // Commits of 512 rows (one per read batch), and of 64 rows: about what the
  // gateway's 5 ms group commit gathers at 10,000 rows/s.
  CeilingResult ceiling{};
  for (std::size_t commit_every : {kDrainBatch, std::size_t{64}}) {
    std::filesystem::copy_file(database, copy);
    auto pass = store_ceiling(copy, n, commit_every);
    std::filesystem::remove(copy);
    std::filesystem::remove(copy + "-wal");
    std::filesystem::remove(copy + "-shm");
    std::printf("  (a) store ceiling       %10.0f rows/s  (%" PRIu64
                " rows in %.1f s, commits of %zu: undelivered() %.1f s, "
                "mark_delivered+commit %.1f s; %" PRIu64 " left undelivered)\n",
                static_cast<double>(pass.rows) / pass.seconds, pass.rows, pass.seconds, commit_every, pass.read_seconds,
                pass.mark_seconds, pass.left);
    std::printf("      disk writes         %10.1f KiB per row; commit p50 %.2f ms, p99 %.2f ms, max %.1f ms\n",
                static_cast<double>(pass.disk_bytes) / 1024.0 / static_cast<double>(n), pass.commit_ms.p50,
                pass.commit_ms.p99, pass.commit_ms.max);
    if (pass.rows != n || pass.left != 0) {
      std::fprintf(stderr, "outbox_drain_bench: the ceiling pass read %" PRIu64 " of %" PRIu64 " rows\n", pass.rows, n);
      return 1;
    }
    if (commit_every == kDrainBatch) ceiling = pass;
  }

  // --- (b) baseline, then the gateway's drain --------------------------------
  eg::test::MosquittoBroker local_broker, upstream_broker;
  const std::string event_topic = std::string("eldercare/v1/") + kSite + "/" + kGatewayId + "/event";
  eg::bench::CountingSubscriber platform(upstream_broker.uri(), "bench-platform", event_topic);
  const auto limit = std::chrono::milliseconds(std::max<std::uint64_t>(120'000, n_drain));  // >= 1 ms per row

  double baseline_rate = 0;
  {
    std::vector<std::string> payloads;
    payloads.reserve(n_drain);
    for (std::uint64_t sequence = 1; sequence <= n_drain; ++sequence)
      payloads.push_back(make_event(sequence).SerializeAsString());
    auto connecting = Clock::now();
    eg::bench::WindowedPublisher publisher(upstream_broker.uri(), "bench-publisher", kWindow);
    std::printf("      (baseline publisher connected in %.2f s)\n", seconds_since(connecting));
    platform.reset(n_drain, sequence_index);
    auto cpu_before = eg::bench::cpu_seconds();
    auto start = Clock::now();
    publisher.publish_all(n_drain, [&](std::size_t i) {
      return std::pair<const std::string&, const std::string&>(event_topic, payloads[i]);
    });
    double acked = seconds_since(start);
    if (!eg::bench::wait_for([&] { return platform.counted() == n_drain; }, limit)) {
      std::fprintf(stderr, "outbox_drain_bench: baseline: %" PRIu64 " of %" PRIu64 " arrived\n", platform.counted(),
                   n_drain);
      return 1;
    }
    double seconds = seconds_since(start);
    auto cpu_after = eg::bench::cpu_seconds();
    baseline_rate = static_cast<double>(n_drain) / seconds;
    std::printf("  (b) baseline            %10.0f rows/s  (plain Paho QoS 1 publisher, window %d: %" PRIu64
                " in %.1f s; all PUBACKed at %.1f s)\n",
                baseline_rate, kWindow, n_drain, seconds, acked);
    eg::bench::print_cpu("baseline", cpu_before, cpu_after, n_drain);
  }

  platform.reset(n_drain, sequence_index);
  eg::SystemClock clock;
  double drain_seconds = 0, startup_seconds = 0;
  std::uint64_t marked_by_metrics = 0;
  std::map<std::string, double> cpu_before, cpu_after;
  std::uint64_t disk_before = 0, disk_bytes = 0;
  {
    cpu_before = eg::bench::cpu_seconds();
    disk_before = eg::bench::disk_write_bytes();
    auto start = Clock::now();
    eg::bench::RunningGateway gateway(drain_config(local_broker, upstream_broker, database), clock);
    if (!eg::bench::wait_for([&] { return platform.counted() == n_drain; }, limit)) {
      std::fprintf(stderr, "outbox_drain_bench: drain: %" PRIu64 " of %" PRIu64 " arrived\n", platform.counted(),
                   n_drain);
      return 1;
    }
    drain_seconds = seconds_since(start);
    cpu_after = eg::bench::cpu_seconds();
    disk_bytes = eg::bench::disk_write_bytes() - disk_before;
    startup_seconds = std::chrono::duration<double>(platform.first_arrival() - start).count();
    marked_by_metrics = gateway.metrics().get("events_delivered_total");
  }
  std::uint64_t left = eg::gateway::Store(database).undelivered_count();

  double drain_rate = static_cast<double>(n_drain) / drain_seconds;
  double steady_rate = static_cast<double>(n_drain) / (drain_seconds - startup_seconds);
  std::printf("  (b) gateway drain       %10.0f rows/s  (%" PRIu64
              " in %.1f s from start(), first row after %.2f s; "
              "%.0f rows/s after the first)\n",
              drain_rate, n_drain, drain_seconds, startup_seconds, steady_rate);
  eg::bench::print_cpu("gateway drain", cpu_before, cpu_after, n_drain);
  std::printf("      disk writes         %10.1f KiB per row drained\n",
              static_cast<double>(disk_bytes) / 1024.0 / static_cast<double>(n_drain));
  std::printf("      ratio               %10.2f (drain / baseline)\n", drain_rate / baseline_rate);
  std::printf("      ratio               %10.2f (drain after its first row / baseline)\n", steady_rate / baseline_rate);
  std::printf("      ratio               %10.2f (drain / store ceiling)\n",
              drain_rate / (static_cast<double>(ceiling.rows) / ceiling.seconds));
  std::printf("      store after stop    %10" PRIu64 " rows undelivered of %" PRIu64 " (events_delivered_total %" PRIu64
              " when the last row arrived)\n",
              left, n, marked_by_metrics);
  std::printf("      peak RSS            %10ld KiB (VmHWM)\n", eg::bench::proc_status_kib("VmHWM:"));
  return 0;
}
