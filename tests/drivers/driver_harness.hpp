// A driver from the registry plus helpers to feed it one message at a time,
// for the meter and wearable driver tests.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "eg/drivers/registry.hpp"

namespace eg::test {

struct DriverHarness {
  explicit DriverHarness(std::string_view name) : driver(eg::drivers::make_driver(name)) { REQUIRE(driver != nullptr); }
  DriverHarness(std::string_view name, eg::drivers::DriverOptions options)
      : driver(eg::drivers::make_driver(name, std::move(options))) {
    REQUIRE(driver != nullptr);
  }

  std::unique_ptr<eg::drivers::Driver> driver;
  eg::WallTime now{std::chrono::seconds(1'767'225'600)};  // 2026-01-01T00:00:00Z

  eg::drivers::DecodeResult decode(const std::string& topic, const std::string& payload, bool retained = false) {
    return driver->decode({topic, payload, now, retained});
  }
  eg::drivers::Events events(const std::string& topic, const std::string& payload, bool retained = false) {
    auto result = decode(topic, payload, retained);
    INFO(topic << " " << payload << " -> " << (result.ok() ? "" : result.error().reason));
    REQUIRE(result.ok());
    return result.value();
  }
  // The error a message is rejected with; fails the test if it is accepted or
  // the reason is empty.
  eg::drivers::DecodeError error(const std::string& topic, const std::string& payload) {
    auto result = decode(topic, payload);
    INFO(topic << " " << payload);
    REQUIRE_FALSE(result.ok());
    CHECK_FALSE(result.error().reason.empty());
    return result.error();
  }
  eg::drivers::DecodeError::Code code(const std::string& topic, const std::string& payload) {
    return error(topic, payload).code;
  }
};

// Seconds since the epoch of a UTC calendar time, for sensor_time checks.
inline std::int64_t utc_seconds(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  using namespace std::chrono;
  auto tp = sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
  return duration_cast<seconds>(tp.time_since_epoch()).count();
}

// Every prefix of `payload` (a truncated message) must be rejected or decoded
// without crashing; a strict prefix of a JSON object is never valid JSON.
inline void check_truncations_rejected(eg::drivers::Driver& driver, const std::string& topic,
                                       const std::string& payload) {
  for (std::size_t n = 1; n < payload.size(); ++n) {
    auto result = driver.decode({topic, std::string_view(payload).substr(0, n), {}, false});
    INFO(topic << " truncated to " << n << ": " << payload.substr(0, n));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == eg::drivers::DecodeError::Code::kMalformed);
    CHECK_FALSE(result.error().reason.empty());
  }
}

// Every single-byte corruption of `payload` (quotes, brackets, digits, NUL,
// invalid UTF-8 ...) decodes or is rejected with a reason; never a crash or an
// exception. Corruptions that happen to stay valid may change the driver's state.
inline void check_corruptions_survive(eg::drivers::Driver& driver, const std::string& topic,
                                      const std::string& payload) {
  const std::string replacements("\"{}[],:0-x\0\xff", 12);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    for (char c : replacements) {
      std::string corrupted = payload;
      corrupted[i] = c;
      auto result = driver.decode({topic, corrupted, {}, false});
      if (!result.ok()) {
        INFO(topic << " corrupted at " << i << ": " << corrupted);
        CHECK_FALSE(result.error().reason.empty());
      }
    }
  }
}

}  // namespace eg::test
