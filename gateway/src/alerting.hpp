// The rule engine at work in the gateway: feeds it events and commands, turns
// its wake-up requests into a timer, hands transitions to the gateway (which
// numbers, stores and forwards them), carries deliveries to the escalation
// targets, and keeps the engine's state in the store so a restart resumes every
// ladder at its scheduled time. Loop thread only.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/gateway/config.hpp"
#include "eg/gateway/metrics.hpp"
#include "eg/rules/engine.hpp"
#include "eldercare/v1/command.pb.h"
#include "family_webhook.hpp"
#include "operator_link.hpp"

namespace eg::gateway {

class Alerting {
 public:
  struct RuleInfo {  // what the operator side needs to know of each rule
    OperatorCode code;
    std::optional<std::size_t> operator_step;  // 0-based index in its ladder
  };
  struct Hooks {
    // Numbers, stores and forwards one transition upstream.
    std::function<void(eldercare::v1::AlertTransition)> emit_transition;
    // Publishes on the local broker (alarm sounder, nurse station console).
    std::function<void(const std::string& topic, std::string payload)> publish_local;
    // A health event of the gateway itself (the operator link went down or
    // came back): stored, forwarded and fed back to the rules like any other.
    std::function<void(eldercare::v1::SensorEvent)> emit_event;
    // Operator messages awaiting a receiver's ACK, kept across restarts.
    std::function<std::int64_t(std::string_view meta, std::string_view alert)> persist_operator_message;
    std::function<void(std::int64_t id)> forget_operator_message;
    // Whether the platform can be told now (the uplink is connected, or has
    // been down only briefly); unset: always.
    std::function<bool()> platform_reachable;
  };

  Alerting(boost::asio::io_context& io, rules::RuleSet rules, const GatewayConfig& config, const Clock& clock,
           Metrics& metrics, Hooks hooks);

  // Resumes from a saved state (alerts at their step, absence timers running
  // through the downtime) and fires whatever fell due meanwhile.
  // `legacy_snapshot`: the whole-state text of a gateway before schema 5,
  // used when there are no rows yet.
  void start(const std::vector<rules::StateRow>& saved_rows, const std::optional<std::string>& legacy_snapshot,
             const std::vector<StoredOperatorMessage>& unacknowledged_operator_messages = {});
  // The engine rows changed since the last call: the gateway writes them in
  // the group commit that holds the events and transitions that changed them.
  std::vector<rules::StateRow> take_state_changes();
  // Every row: after a group was lost (a failed commit), the whole state is
  // written again once the store takes writes.
  std::vector<rules::StateRow> all_state_rows() const { return engine_.all_rows(); }
  void on_event(const eldercare::v1::SensorEvent& event);
  // Acknowledge / Resolve; other command bodies are not the engine's.
  void on_command(const eldercare::v1::Command& command, std::string_view arrived_on);
  // A resident's cancel button (or cancel gesture): acknowledges that
  // resident's active alerts (the device's own when it has no resident).
  void on_device_cancel(const eldercare::v1::SensorEvent& event);
  void stop();

  std::size_t active_alerts() const { return engine_.active_count(); }
  // Fires what is due now (the wake-up timer calls it; tests in virtual time too).
  void tick();

 private:
  void apply(rules::Output output);
  void set_away(const eldercare::v1::SetAway& away, const std::string& actor, const std::string& channel);
  void deliver(const rules::Delivery& delivery);
  void report_undeliverable(const rules::Delivery& delivery);
  eldercare::v1::AlertTransition delivery_record(const eldercare::v1::Alert& sent, const std::string& actor,
                                                 const std::string& channel, std::uint32_t step,
                                                 const std::string& target) const;
  void on_family_outcome(const eldercare::v1::Alert& sent, std::uint32_t step, const FamilyNotifier::Outcome& outcome);
  bool reachable(const std::string& target, const eldercare::v1::Alert& alert) const;
  void follow_up_operator(const eldercare::v1::AlertTransition& transition);
  void on_operator_outcome(const OperatorLink::Sent& sent, const dc09::LinkCore::Outcome& outcome,
                           const dc09::Endpoint& endpoint);
  void on_operator_path(std::size_t path, const dc09::Endpoint& endpoint, bool up, const std::string& reason);
  void schedule_wakeup();
  WallTime engine_time();
  void publish_engine_metrics();
  void reannounce_local();

  std::map<std::string, RuleInfo> rule_info_;
  rules::Engine engine_;
  const GatewayConfig& config_;
  const Clock& clock_;
  Metrics& metrics_;
  Hooks hooks_;
  boost::asio::io_context& io_;
  std::unique_ptr<OperatorLink> operator_;
  std::unique_ptr<FamilyNotifier> family_;
  boost::asio::steady_timer wakeup_;
  std::optional<WallTime> armed_for_;
  const WallTime anchor_wall_ = clock_.wall_now();
  const SteadyTime anchor_steady_ = clock_.steady_now();
  std::vector<rules::StateRow>
      migrated_rows_;  // a legacy snapshot's state, written at the first commit  // the wake-up the timer is set for
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted handlers check it
  bool stopped_ = false;
};

// Builds the rule set the config names: the rule file plus the residents of
// the registry. Throws ConfigError (file:line for rule files).
rules::RuleSet load_rule_set(const GatewayConfig& config);

// Ladder rungs this configuration cannot deliver (an operator step with no
// [operator] link, a family step with no family channel), one warning each,
// naming the ladder, the step and the rules that use it. --check-config
// prints them; the daemon logs them at start.
std::vector<std::string> undeliverable_rungs(const rules::RuleSet& rules, const GatewayConfig& config);

}  // namespace eg::gateway
