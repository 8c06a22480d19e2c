// Counters by name, with labels folded into the name in Prometheus style:
// decode_errors_total{driver="zigbee2mqtt",reason="malformed"}. Thread-safe,
// because tests and the HTTP endpoint read them from other threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace eg::gateway {

class Metrics {
 public:
  void add(const std::string& name, std::uint64_t delta = 1) {
    std::lock_guard lock(mu_);
    counters_[name] += delta;
  }
  void set(const std::string& name, std::uint64_t value) {
    std::lock_guard lock(mu_);
    counters_[name] = value;
  }
  std::uint64_t get(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }
  std::map<std::string, std::uint64_t> snapshot() const {
    std::lock_guard lock(mu_);
    return counters_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> counters_;
};

}  // namespace eg::gateway
