#include <catch2/catch.hpp>

#include "device_rate_limit.hpp"

using eg::gateway::DeviceRateLimit;
using namespace std::chrono_literals;

TEST_CASE("a device gets its burst, then its rate, its neighbour is not affected", "[gateway][flood]") {
  DeviceRateLimit limit({.per_second = 10, .burst = 50, .max_devices = 100});
  eg::SteadyTime now{};
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += limit.admit("flooder", now);
  CHECK(admitted == 50);
  CHECK(limit.admit("neighbour", now));
  now += 1s;  // ten more a second
  admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += limit.admit("flooder", now);
  CHECK(admitted == 10);
  now += 1h;  // never more than the burst, however long it was quiet
  admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += limit.admit("flooder", now);
  CHECK(admitted == 50);
}

TEST_CASE("a rate of 0 turns the limit off", "[gateway][flood]") {
  DeviceRateLimit limit({.per_second = 0, .burst = 1, .max_devices = 10});
  for (int i = 0; i < 10'000; ++i) REQUIRE(limit.admit("bed7", eg::SteadyTime{}));
  CHECK(limit.tracked() == 0);
}

TEST_CASE("fresh device ids cannot grow the table or escape the limit", "[gateway][flood][bounds]") {
  DeviceRateLimit limit({.per_second = 1, .burst = 5, .max_devices = 100});
  eg::SteadyTime now{};
  int admitted = 0;
  for (int i = 0; i < 10'000; ++i) admitted += limit.admit("random-" + std::to_string(i), now);
  CHECK(limit.tracked() == 100);
  CHECK(admitted == 100 + 5);  // one reading each for the table's devices, then newcomers share one bucket
  // Once the old entries have refilled, they make room for new devices.
  now += 10s;
  CHECK(limit.admit("later", now));
  CHECK(limit.tracked() == 100);
}
