// load_gen: the sensors of the scale benchmark (scripts/bench). Publishes the
// site's message mix (scale_mix.hpp) to the local broker at QoS 1 with a
// bounded in-flight window, and reports its own achieved rate, so a figure
// measured downstream is visibly not limited by the load.
//
//   load_gen --uri URI --devices N --report FILE [mode] [options]
//   modes:
//     (default)  --count M messages of the mix, each carrying its publish time;
//                per-device counters start at 1, after a --warmup run
//     --warmup   one message per device, without a time (k = 0): registers
//                every device's state, so the measured run is steady state
//     --flood    --count M messages on random topics and random device ids
//                (valid payloads of the mix, no registered device)
//   options: --rate R (messages/s, paced against a fixed schedule; 0 = as fast
//            as the window allows, the default), --window W (64), --seed S (1)
//
// The report is key=value lines: published, alarms, seconds (first to last
// publish), acked_seconds (until every PUBACK), rate (published/acked_seconds),
// behind_max_ms (paced runs: the worst lag behind the schedule), cpu_s.
//
// It links no gateway code, so the load is the same whatever the daemon's code.
#include <mqtt/async_client.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "scale_mix.hpp"
#include "windowed_publisher.hpp"

namespace scale = eg::bench::scale;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string uri, report;
  int devices = 0;
  std::uint64_t count = 0;
  double rate = 0;
  int window = 64;
  std::uint64_t seed = 1;
  bool warmup = false, flood = false;
};

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--uri")
      o.uri = value();
    else if (arg == "--report")
      o.report = value();
    else if (arg == "--devices")
      o.devices = std::stoi(value());
    else if (arg == "--count")
      o.count = std::stoull(value());
    else if (arg == "--rate")
      o.rate = std::stod(value());
    else if (arg == "--window")
      o.window = std::stoi(value());
    else if (arg == "--seed")
      o.seed = std::stoull(value());
    else if (arg == "--warmup")
      o.warmup = true;
    else if (arg == "--flood")
      o.flood = true;
    else
      throw std::runtime_error("unknown option " + arg);
  }
  if (o.uri.empty() || o.devices <= 0 || (!o.warmup && o.count == 0) || o.window <= 0)
    throw std::runtime_error("need --uri, --devices N > 0 and --count M > 0 (or --warmup)");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "load_gen: %s\n", error.what());
    return 2;
  }
  const auto devices = scale::make_devices(o.devices);
  const scale::MessageMix mix(devices);
  std::vector<std::uint64_t> next_k(devices.size(), 1);  // 0 was the warm-up message
  const std::uint64_t total = o.warmup ? devices.size() : o.count;

  std::string topic, payload;
  std::uint64_t alarms = 0;
  std::int64_t last_us = 0;
  double behind_max = 0;
  Clock::time_point start, last_publish;
  // One message: chosen, stamped and formatted just before Paho takes it, so
  // its time is its publish time. In a paced run it first waits for its slot.
  auto message = [&](std::size_t i) {
    if (o.rate > 0) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / o.rate));
      std::this_thread::sleep_until(due);
      behind_max = std::max(behind_max, std::chrono::duration<double>(Clock::now() - due).count());
    }
    bool alarm = false;
    if (o.warmup) {
      topic = devices[i].topic;
      payload = scale::payload(devices[i], 0, std::nullopt, alarm);
    } else if (o.flood) {
      // A random device of a random role: a stranger the registry never heard
      // of. mix64 is one-to-one, so every Zigbee id is new as well.
      std::uint64_t r = scale::mix64(o.seed ^ (i * 0x9e3779b97f4a7c15ULL));
      scale::Device stranger = devices[mix.pick(o.seed + 7, i)];
      char id[24];
      if (stranger.role == scale::Role::kWater) {
        // i -> i * 7919 mod 10^7 is one-to-one (for 10^7 messages): no two
        // strangers share a meter (random ids would, and a repeated first
        // telegram is no news); "9..." is outside the site's "3322...".
        std::snprintf(id, sizeof id, "9%07u", static_cast<unsigned>((i * 7919 + o.seed) % 10'000'000));
        stranger.topic = std::string("wmbusmeters/") + id;
      } else {
        std::snprintf(id, sizeof id, "0x%016llx", static_cast<unsigned long long>(r));
        stranger.topic = std::string("zigbee2mqtt/") + id;
      }
      stranger.id = id;
      topic = stranger.topic;
      last_us = std::max(wall_us(), last_us + 1);  // unique, so the sink can count them
      payload = scale::payload(stranger, 0, last_us, alarm);
    } else {
      std::size_t d = mix.pick(o.seed, i);
      // Strictly increasing, so each message's time is also its unique key at the sink.
      last_us = std::max(wall_us(), last_us + 1);
      topic = devices[d].topic;
      payload = scale::payload(devices[d], next_k[d]++, last_us, alarm);
    }
    alarms += alarm ? 1 : 0;
    last_publish = Clock::now();
    return std::pair<const std::string&, const std::string&>(topic, payload);
  };

  try {
    // Nagle left on, as a sensor bridge leaves it.
    eg::bench::WindowedPublisher publisher(o.uri, "bench-load-gen-" + std::to_string(::getpid()), o.window,
                                           /*nodelay=*/false);
    double cpu_before = cpu_seconds();
    start = Clock::now();
    publisher.publish_all(total, message);
    double acked = std::chrono::duration<double>(Clock::now() - start).count();
    double seconds = std::chrono::duration<double>(last_publish - start).count();
    double cpu = cpu_seconds() - cpu_before;
    std::ofstream report(o.report.empty() ? "/dev/stdout" : o.report);
    report << "mode="
           << (o.warmup  ? "warmup"
               : o.flood ? "flood"
                         : "mix")
           << "\n"
           << "published=" << total << "\nalarms=" << alarms << "\nseconds=" << seconds << "\nacked_seconds=" << acked
           << "\nrate=" << static_cast<double>(total) / acked << "\noffered_rate=" << o.rate
           << "\nbehind_max_ms=" << behind_max * 1e3 << "\ncpu_s=" << cpu << "\n";
  } catch (const std::exception& error) {
    std::fprintf(stderr, "load_gen: %s\n", error.what());
    return 1;
  }
  return 0;
}
