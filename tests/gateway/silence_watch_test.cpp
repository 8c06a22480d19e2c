#include <catch2/catch.hpp>

#include "silence_watch.hpp"

using namespace std::chrono_literals;

TEST_CASE("a battery sensor silent for more than 25 h is reported once, until it speaks again", "[gateway][silence]") {
  eg::gateway::SilenceWatch watch;
  eg::SteadyTime t0{std::chrono::hours(1)};
  CHECK_FALSE(watch.heard("room301_door", t0, 25h));
  CHECK_FALSE(watch.heard("kitchen_meter", t0, 2h));

  CHECK(watch.newly_silent(t0 + 2h).empty());  // exactly at the limit is not yet silence
  CHECK(watch.newly_silent(t0 + 2h + 1s) == std::vector<std::string>{"kitchen_meter"});
  CHECK(watch.newly_silent(t0 + 3h).empty());  // reported once
  CHECK(watch.newly_silent(t0 + 25h + 1s) == std::vector<std::string>{"room301_door"});

  // It spoke again: back (the gateway clears its silence), and a new silence counts anew.
  CHECK(watch.heard("kitchen_meter", t0 + 26h, 2h));
  CHECK_FALSE(watch.heard("kitchen_meter", t0 + 26h + 1s, 2h));
  CHECK(watch.newly_silent(t0 + 27h).empty());
  CHECK(watch.newly_silent(t0 + 28h + 2s) == std::vector<std::string>{"kitchen_meter"});
}
