// What untrusted input can make the gateway hold is bounded, and a copy the
// broker re-sends is recognised without mistaking a new message for one.
#include <catch2/catch.hpp>

#include "rate_limited_log.hpp"
#include "redelivery_filter.hpp"

using eg::gateway::RedeliveryFilter;

TEST_CASE("a re-sent copy is recognised by packet id, topic and payload, a group that failed is forgotten",
          "[gateway][bounds]") {
  RedeliveryFilter filter(3);
  auto a = RedeliveryFilter::key(7, "zigbee2mqtt/radar", R"({"heart_rate":70})");
  CHECK(a == RedeliveryFilter::key(7, "zigbee2mqtt/radar", R"({"heart_rate":70})"));
  CHECK(a != RedeliveryFilter::key(8, "zigbee2mqtt/radar", R"({"heart_rate":70})"));  // another packet
  CHECK(a != RedeliveryFilter::key(7, "zigbee2mqtt/radar2", R"({"heart_rate":70})"));
  CHECK(RedeliveryFilter::key(1, "ab", "c") != RedeliveryFilter::key(1, "a", "bc"));

  filter.remember(a);
  CHECK(filter.contains(a));
  filter.forget(a);  // its group did not commit: a copy must be stored, not dropped
  CHECK_FALSE(filter.contains(a));

  // Bounded: the oldest identity leaves when a fourth comes.
  for (std::uint16_t id = 1; id <= 4; ++id) filter.remember(RedeliveryFilter::key(id, "t", "p"));
  CHECK(filter.size() == 3);
  CHECK_FALSE(filter.contains(RedeliveryFilter::key(1, "t", "p")));
  CHECK(filter.contains(RedeliveryFilter::key(4, "t", "p")));
}

TEST_CASE("the rate-limited log forgets quiet topics rather than growing with every new one", "[gateway][bounds]") {
  eg::gateway::RateLimitedLog log(std::chrono::seconds(60));
  eg::SteadyTime t0{};
  // 20,000 invented topics: each is logged (first time), and memory stays bounded.
  for (int i = 0; i < 20'000; ++i) CHECK(log.admit("zigbee2mqtt/random-" + std::to_string(i), t0).has_value());
  CHECK(log.size() <= 4096);
  // A topic still within its interval is still limited.
  CHECK(log.admit("loud", t0).has_value());
  CHECK_FALSE(log.admit("loud", t0 + std::chrono::seconds(1)).has_value());
}
