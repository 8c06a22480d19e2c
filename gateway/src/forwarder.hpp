// Drains the store's outbox upstream. Two lanes: alert transitions always go
// before the event backlog, even in the middle of a long drain. Rows leave
// only once committed (so a crash cannot publish a sequence number that the
// restarted gateway would hand out again), are marked delivered only on PUBACK,
// and are re-read from the store after a failure, so a resend carries the same
// id and sequence. The event lane is rate-limited so a gateway back from an
// outage does not flood the platform. Loop thread only.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <set>
#include <string>

#include "eg/gateway/config.hpp"
#include "eg/gateway/metrics.hpp"
#include "eg/gateway/mqtt_link.hpp"
#include "eg/gateway/store.hpp"

namespace eg::gateway {

class Forwarder {
 public:
  struct Hooks {
    std::function<std::string(std::string_view leaf)> topic;  // upstream topic for a lane
    std::function<void(std::function<void()>)> write;         // a store write in the current group commit
  };

  Forwarder(boost::asio::io_context& io, Store& store, MqttLink& upstream, const UpstreamBrokerConfig& config,
            Metrics& metrics, Hooks hooks);

  // Rows up to `sequence` are committed: they may go.
  void committed(std::uint64_t sequence);
  void pump();
  void connection_changed(bool connected);
  // Sends again everything from `sequence` on (the platform asked).
  void resend_from(std::uint64_t sequence);
  std::size_t inflight() const { return inflight_.size(); }

 private:
  struct Lane {
    std::string leaf;
    std::uint64_t cursor = 0;  // highest sequence read into `queue`
    std::deque<OutboxRow> queue;
  };
  OutboxRow* front(Lane& lane);
  void rewind(Lane& lane, std::uint64_t before_sequence);
  void published(Lane& lane, std::uint64_t sequence, bool delivered);
  bool take_token();

  boost::asio::io_context& io_;
  Store& store_;
  MqttLink& upstream_;
  const UpstreamBrokerConfig& config_;
  Metrics& metrics_;
  Hooks hooks_;
  Lane alerts_{"alert", 0, {}};
  Lane events_{"event", 0, {}};
  std::set<std::uint64_t> inflight_;
  std::uint64_t committed_ = 0;
  // Token bucket for the event lane: `rate` per second, at most one second's worth banked.
  double tokens_ = 0;
  std::chrono::steady_clock::time_point refilled_{};
  boost::asio::steady_timer retry_;
  bool retry_armed_ = false;
};

}  // namespace eg::gateway
