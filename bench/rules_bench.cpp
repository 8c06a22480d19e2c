// Rule-engine throughput and memory with the default rule pack and 2,000
// residents (each with a fall radar, a vitals radar, a gas alarm, a door, a
// presence sensor and a water meter). Baseline from the same run: serializing
// each event once (what merely touching an event costs). Run it with 40 and
// with 2,000 residents: the per-event figure must not depend on the count.
//   rules_bench [RULES_FILE] [RESIDENTS] [EVENTS]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "eg/rules/engine.hpp"

namespace v1 = eldercare::v1;

namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> value;
      return value;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

// A day in 2,000 rooms, in a fixed pseudo-random order (same every run).
std::vector<v1::SensorEvent> make_events(int residents, int count) {
  std::vector<v1::SensorEvent> events;
  events.reserve(static_cast<std::size_t>(count));
  std::uint64_t state = 42;
  auto next = [&] { return state = state * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int i = 0; i < count; ++i) {
    int r = static_cast<int>(next() % static_cast<std::uint64_t>(residents));
    v1::SensorEvent e;
    e.set_id("e" + std::to_string(i));
    e.set_resident_id("r" + std::to_string(r));
    e.set_room(std::to_string(100 + r));
    switch (next() % 6) {
      case 0:
        e.set_kind(v1::EVENT_KIND_VITALS);
        e.set_device_id("vitals" + std::to_string(r));
        e.mutable_vitals()->set_heart_rate_bpm(static_cast<double>(55 + next() % 80));
        e.mutable_vitals()->set_breathing_rate_per_min(static_cast<double>(10 + next() % 25));
        break;
      case 1:
        e.set_kind(v1::EVENT_KIND_PRESENCE);
        e.set_device_id("presence" + std::to_string(r));
        e.mutable_presence()->set_present(next() % 2);
        break;
      case 2:
        e.set_kind(v1::EVENT_KIND_DOOR);
        e.set_device_id("door" + std::to_string(r));
        e.mutable_door()->set_open(next() % 2);
        break;
      case 3:
        e.set_kind(v1::EVENT_KIND_WATER_METER);
        e.set_device_id("meter" + std::to_string(r));
        e.mutable_water_meter()->set_total_m3(static_cast<double>(i) / 1000);
        break;
      case 4:
        e.set_kind(v1::EVENT_KIND_FALL);
        e.set_device_id("radar" + std::to_string(r));
        e.mutable_fall()->set_state(next() % 500 == 0 ? v1::FallPayload::STATE_DETECTED : v1::FallPayload::STATE_NONE);
        break;
      default:
        e.set_kind(v1::EVENT_KIND_GAS);
        e.set_device_id("gas" + std::to_string(r));
        e.mutable_gas()->set_alarm(next() % 1000 == 0);
        break;
    }
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace

int main(int argc, char** argv) {
  std::string rules_file = argc > 1 ? argv[1] : EG_SOURCE_DIR "/rules/eldercare-default.toml";
  int residents = argc > 2 ? std::stoi(argv[2]) : 2000;
  int count = argc > 3 ? std::stoi(argv[3]) : 1'000'000;

  eg::rules::RuleSet rules = eg::rules::load_rules(rules_file);
  for (int r = 0; r < residents; ++r) {
    eg::rules::Resident resident;
    resident.id = "r" + std::to_string(r);
    if (r % 3 == 0) resident.flags.insert("living_alone");
    if (r % 5 == 0) resident.flags.insert("dementia");
    rules.residents[resident.id] = resident;
  }
  auto events = make_events(residents, count);
  long rss_before = rss_kib();

  using clock = std::chrono::steady_clock;
  std::size_t sink = 0;
  auto t0 = clock::now();
  for (const auto& e : events) sink += e.SerializeAsString().size();
  double baseline_s = std::chrono::duration<double>(clock::now() - t0).count();

  eg::rules::Engine engine(rules, "gw-bench");
  eg::WallTime now{std::chrono::seconds(1'767'225'600)};
  std::size_t transitions = 0, rows = 0, row_bytes = 0;
  auto t1 = clock::now();
  // What the gateway does per event: the event, the next wake-up, and at each
  // group commit (here every 64 events) the rows that changed.
  for (std::size_t i = 0; i < events.size(); ++i) {
    now += std::chrono::milliseconds(50);  // 20 events/s across the site: a day in 1.7 M events
    transitions += engine.on_event(events[i], now).transitions.size();
    sink += engine.next_wakeup().has_value();
    if (i % 1000 == 0) transitions += engine.on_time(now).transitions.size();
    if (i % 64 == 63)
      for (const auto& row : engine.take_changes()) {
        ++rows;
        row_bytes += row.state.size();
      }
  }
  double engine_s = std::chrono::duration<double>(clock::now() - t1).count();
  long rss_after = rss_kib();
  std::size_t snapshot_bytes = engine.snapshot().size();

  std::printf("rule engine: %zu rules, %d residents, %d events, %zu transitions, %zu active alerts\n",
              rules.rules.size(), residents, count, transitions, engine.active_alerts().size());
  std::printf("  engine      %12.0f events/s\n", count / engine_s);
  std::printf("  baseline    %12.0f events/s (serialize each event once)\n", count / baseline_s);
  std::printf("  ratio       %12.2f (engine / baseline)\n", (count / engine_s) / (count / baseline_s));
  std::printf("  memory      %12ld KiB engine state (RSS growth), %zu subjects tracked, snapshot %zu bytes\n",
              rss_after - rss_before, engine.tracked_subjects(), snapshot_bytes);
  std::printf("  persisted   %12.3f rows/event, %.1f bytes/event (changed rows only, per group of 64)\n",
              static_cast<double>(rows) / count, static_cast<double>(row_bytes) / count);
  return sink == 0;
}
