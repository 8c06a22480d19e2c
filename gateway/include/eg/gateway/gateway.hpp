// The gateway: local broker in, drivers, store, upstream out. Everything here
// runs on the one io_context thread it is given; construct, start() and stop()
// from that thread (or before it runs).
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "eg/common/clock.hpp"
#include "eg/gateway/config.hpp"
#include "eg/gateway/metrics.hpp"
#include "eg/rules/rule_set.hpp"

namespace eg::gateway {

class Gateway {
 public:
  // With `rules`, the rule engine raises and escalates alerts; without, the
  // gateway only forwards events.
  Gateway(boost::asio::io_context& io, GatewayConfig config, const Clock& clock,
          std::optional<rules::RuleSet> rules = std::nullopt);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Opens the store (throws StoreError when it cannot) and connects both
  // brokers. `on_ready` runs once the local subscription is in place.
  void start(std::function<void()> on_ready = {});
  // Says goodbye upstream (retained offline status), disconnects both brokers
  // and commits the store; `done` runs on the loop within about a second.
  void stop(std::function<void()> done);

  // Replaces the device registry (SIGHUP): later events get the new
  // resident/room/bed. Other settings need a restart.
  void reload_devices(std::map<std::string, DeviceEntry, std::less<>> devices);

  const Metrics& metrics() const;
  // Upstream topic for a message type: <prefix>/<site>/<gateway>/<leaf>.
  std::string upstream_topic(std::string_view leaf) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eg::gateway
