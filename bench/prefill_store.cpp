// prefill_store: a gateway database holding N undelivered events, as the
// daemon would have left it after a long uplink outage, for the scale
// benchmark's start-up and drain figures (scripts/bench). Written through the
// gateway's own Store (eg::gateway), in commits of 1,000 rows like
// outbox_drain_bench.
//
//   prefill_store --database PATH --rows N --devices D [--report FILE]
//
// Row i is the SensorEvent the daemon would have built for the i-th message
// of the site's mix (scale_mix.hpp): device, resident, room, bed, kind and
// payload, id, gateway id, sequence i, driver and source topic, received i ms
// apart and ending now (so the once-a-minute retention pass, which deletes
// delivered rows older than retention_days, finds nothing to delete during the
// drain). Alarm devices' messages are left out: an alarm would be an alert, a
// row of the other lane. Report: key=value lines rows, seconds, rate,
// payload_bytes, file_bytes.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "eg/gateway/store.hpp"
#include "eldercare/v1/sensor_event.pb.h"
#include "scale_mix.hpp"

namespace v1 = eldercare::v1;
namespace scale = eg::bench::scale;

namespace {

std::string uuid_for(std::uint64_t sequence, std::uint64_t unix_ms) {  // version 7 layout, as the gateway's
  std::uint64_t hi = (unix_ms << 16) | 0x7000ULL | (scale::mix64(sequence) & 0x0fff);
  std::uint64_t lo = (scale::mix64(~sequence) & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return text;
}

v1::SensorEvent make_event(const scale::Device& d, std::uint64_t sequence, std::uint64_t k, eg::WallTime received) {
  v1::SensorEvent e;
  auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(received.time_since_epoch()).count());
  e.set_id(uuid_for(sequence, ms));
  e.set_gateway_id("gw-bench");
  e.set_sequence(sequence);
  e.set_device_id(d.id);
  e.set_resident_id(d.resident);
  e.set_room(d.room);
  e.set_bed(d.bed);
  e.mutable_received_time()->set_seconds(static_cast<std::int64_t>(ms / 1000));
  e.mutable_received_time()->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
  e.set_driver(d.role == scale::Role::kWater ? "wmbusmeters" : "zigbee2mqtt");
  e.set_source_topic(d.topic);
  switch (d.role) {
    case scale::Role::kVitals:
      e.set_kind(v1::EVENT_KIND_VITALS);
      e.mutable_vitals()->set_heart_rate_bpm(static_cast<double>(58 + (k * 7) % 45));
      e.mutable_vitals()->set_breathing_rate_per_min(static_cast<double>(12 + k % 9));
      break;
    case scale::Role::kPresence:
      e.set_kind(v1::EVENT_KIND_PRESENCE);
      e.mutable_presence()->set_present(k % 2 == 0);
      break;
    case scale::Role::kDoor:
      e.set_kind(v1::EVENT_KIND_DOOR);
      e.mutable_door()->set_open(k % 2 == 1);
      break;
    default:
      e.set_kind(v1::EVENT_KIND_WATER_METER);
      e.mutable_water_meter()->set_total_m3(120.0 + static_cast<double>(k) / 1000.0);
      break;
  }
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  std::string database, report = "/dev/stdout";
  std::uint64_t rows = 0;
  int devices = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--database")
      database = value;
    else if (arg == "--rows")
      rows = std::stoull(value);
    else if (arg == "--devices")
      devices = std::stoi(value);
    else if (arg == "--report")
      report = value;
    else {
      std::fprintf(stderr, "prefill_store: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (database.empty() || rows == 0 || devices <= 0) {
    std::fprintf(stderr, "usage: prefill_store --database PATH --rows N --devices D [--report FILE]\n");
    return 2;
  }
  const auto site = scale::make_devices(devices);
  const scale::MessageMix mix(site);
  std::vector<std::uint64_t> next_k(site.size(), 1);
  const eg::WallTime end = std::chrono::time_point_cast<eg::WallTime::duration>(std::chrono::system_clock::now());
  std::uint64_t payload_bytes = 0;
  auto start = std::chrono::steady_clock::now();
  try {
    eg::gateway::Store store(database);
    std::uint64_t sequence = 0;
    for (std::uint64_t i = 0; sequence < rows; ++i) {
      std::size_t d = mix.pick(1, i);
      scale::Role role = site[d].role;
      if (role == scale::Role::kFall || role == scale::Role::kSos || role == scale::Role::kGas) continue;
      ++sequence;
      eg::WallTime received = end - std::chrono::milliseconds(rows - sequence);
      v1::SensorEvent event = make_event(site[d], sequence, next_k[d]++, received);
      std::string payload = event.SerializeAsString();
      payload_bytes += payload.size();
      // Routine readings, as the daemon marks vitals, presence and meter rows (doors are not).
      bool routine = role != scale::Role::kDoor;
      store.append_event(sequence, event.id(), payload, received, "event", routine);
      if (sequence % 1000 == 0) store.flush();
    }
    store.flush();
  } catch (const eg::gateway::StoreError& error) {
    std::fprintf(stderr, "prefill_store: %s\n", error.what());
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::error_code ec;
  auto file_bytes = std::filesystem::file_size(database, ec);
  std::ofstream(report) << "rows=" << rows << "\nseconds=" << seconds
                        << "\nrate=" << static_cast<double>(rows) / seconds << "\npayload_bytes=" << payload_bytes
                        << "\nfile_bytes=" << (ec ? 0 : file_bytes) << "\n";
  return 0;
}
