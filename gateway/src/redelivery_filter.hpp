// Recognises a copy of a message the gateway has already stored: after a
// crash or a lost connection the broker re-sends what it never saw
// acknowledged, marked DUP and with the same packet id. The identity of the
// last `capacity` stored messages is kept (and reloaded from the store at
// start); identities of a group that failed to commit are forgotten again,
// since those messages were never stored. Sans-I/O, loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_map>

namespace eg::gateway {

class RedeliveryFilter {
 public:
  explicit RedeliveryFilter(std::size_t capacity) : capacity_(capacity) {}

  // FNV-1a over packet id, topic and payload: an identity, not a defence
  // against forgery (a publisher could repeat one on purpose; it would only
  // lose its own duplicate).
  static std::int64_t key(std::uint16_t packet_id, std::string_view topic, std::string_view payload) {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&](std::string_view bytes) {
      for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
      h = (h ^ 0xff) * 1099511628211ull;  // a separator, so ("ab","c") != ("a","bc")
    };
    mix(topic);
    mix(payload);
    const char id[2] = {static_cast<char>(packet_id >> 8), static_cast<char>(packet_id & 0xff)};
    mix(std::string_view(id, 2));
    return static_cast<std::int64_t>(h & 0x7fffffffffffffffull);
  }

  void remember(std::int64_t key) {
    ++counts_[key];
    order_.push_back(key);
    if (order_.size() > capacity_) {
      forget(order_.front());
      order_.pop_front();
    }
  }
  // Takes back one remember() (its message was not stored after all).
  void forget(std::int64_t key) {
    auto it = counts_.find(key);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }
  bool contains(std::int64_t key) const { return counts_.contains(key); }
  std::size_t size() const { return counts_.size(); }

 private:
  std::size_t capacity_;
  std::unordered_map<std::int64_t, std::uint32_t> counts_;
  std::deque<std::int64_t> order_;
};

}  // namespace eg::gateway
