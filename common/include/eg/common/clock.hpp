// The clock seam. Everything that needs "now" takes a Clock&, so tests drive
// virtual time and fast-forward through hours of escalation in milliseconds.
// Rules and drivers never read a clock: they are handed time points.
#pragma once

#include <chrono>
#include <mutex>

namespace eg {

using WallTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Calendar time: for timestamps on the wire and time-of-day rules.
  virtual WallTime wall_now() const = 0;
  // Monotonic time: for timeouts and durations; never jumps.
  virtual SteadyTime steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
};

// Virtual time for tests: stands still until advanced. Thread-safe, because a
// test thread advances it while the gateway loop reads it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime start = WallTime{std::chrono::seconds{1'767'225'600}})  // 2026-01-01Z
      : wall_(start) {}

  WallTime wall_now() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  SteadyTime steady_now() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }
  void advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
    steady_ += d;
  }
  // The wall clock stepped (NTP, an installer setting the date), monotonic
  // time untouched: what must not fire or freeze alarms.
  void step_wall(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  WallTime wall_;
  SteadyTime steady_{};
};

}  // namespace eg
