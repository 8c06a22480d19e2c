#include <catch2/catch.hpp>

#include "housekeeping.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;
namespace v1 = eldercare::v1;

namespace {

struct Fixture {
  eg::test::TempDir dir;
  eg::gateway::GatewayConfig config;
  eg::ManualClock clock;
  eg::gateway::Metrics metrics;
  eg::gateway::SilenceWatch silence;
  std::unique_ptr<eg::gateway::Store> store;
  std::vector<v1::SensorEvent> emitted;
  bool store_ok = true;
  std::unique_ptr<eg::gateway::Housekeeping> housekeeping;

  Fixture() {
    config.gateway_id = "gw-1";
    config.database = dir.file("gw.db");
    config.min_free_disk_mb = 0;
    config.max_dead_letters = 3;
    config.retention_days = 1;
    store = std::make_unique<eg::gateway::Store>(config.database);
    housekeeping = std::make_unique<eg::gateway::Housekeeping>(
        *store, config, clock, metrics, silence,
        eg::gateway::Housekeeping::Hooks{[this](const std::function<void()>& fn) {
                                           if (!store_ok) return false;
                                           fn();
                                           return true;
                                         },
                                         [this](v1::SensorEvent e) { emitted.push_back(std::move(e)); }});
  }
};

}  // namespace

TEST_CASE("housekeeping: a silent device becomes one health event", "[gateway][housekeeping]") {
  Fixture f;
  f.silence.heard("meter-1", f.clock.steady_now(), 2h);
  f.housekeeping->every_minute();
  CHECK(f.emitted.empty());
  // The wall clock stepped three hours forward (NTP after a boot without
  // RTC): nobody has been silent for that (issue 12 #4).
  f.clock.step_wall(3h);
  f.housekeeping->every_minute();
  CHECK(f.emitted.empty());
  f.clock.advance(2h + 1min);
  f.housekeeping->every_minute();
  REQUIRE(f.emitted.size() == 1);
  CHECK(f.emitted[0].device_id() == "meter-1");
  CHECK(f.emitted[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_SILENT);
  f.housekeeping->every_minute();
  CHECK(f.emitted.size() == 1);  // once, until it speaks again
}

TEST_CASE("housekeeping: dead letters are kept to the configured count and age", "[gateway][housekeeping]") {
  Fixture f;
  for (int i = 0; i < 10; ++i)
    f.store->add_dead_letter({"t/" + std::to_string(i), "x", "malformed", f.clock.wall_now()});
  f.store->flush();
  f.housekeeping->every_minute();
  f.store->flush();
  CHECK(f.store->dead_letters(100).size() == 3);
  CHECK(f.metrics.get("dead_letters_pruned_total") == 7);
  f.clock.advance(25h);
  f.housekeeping->every_minute();
  f.store->flush();
  CHECK(f.store->dead_letters(100).empty());
}

TEST_CASE("housekeeping: with the store failing, upkeep changes nothing and does not throw",
          "[gateway][housekeeping]") {
  Fixture f;
  f.store->add_dead_letter({"t/1", "x", "malformed", f.clock.wall_now()});
  f.store->flush();
  f.store_ok = false;
  f.clock.advance(25h);
  CHECK_NOTHROW(f.housekeeping->every_minute());
  CHECK(f.store->dead_letters(100).size() == 1);
}
