#include "alerting.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace eg::gateway {

namespace v1 = eldercare::v1;

rules::RuleSet load_rule_set(const GatewayConfig& config) {
  rules::RuleSet set = rules::load_rules(config.rules_file);
  for (const auto& entry : config.residents) {
    rules::Resident resident;
    resident.id = entry.id;
    resident.flags.insert(entry.flags.begin(), entry.flags.end());
    resident.overrides = entry.overrides;
    set.residents[entry.id] = std::move(resident);
  }
  try {
    rules::check_residents(set);
  } catch (const ConfigError& error) {
    throw ConfigError(config.source_file + ": [[residents]]: " + error.what());
  }
  return set;
}

Alerting::Alerting(boost::asio::io_context& io, rules::RuleSet rules, const GatewayConfig& config, const Clock& clock,
                   Metrics& metrics, Hooks hooks)
    : engine_(std::move(rules), config.gateway_id),
      config_(config),
      clock_(clock),
      metrics_(metrics),
      hooks_(std::move(hooks)),
      wakeup_(io),
      save_timer_(io) {}

void Alerting::start(const std::optional<std::string>& saved_state) {
  if (saved_state) {
    try {
      engine_.restore(*saved_state);
      spdlog::info("ALERTS_RESTORED active={} tracked={}", engine_.active_alerts().size(), engine_.tracked_subjects());
    } catch (const ConfigError& error) {
      // Starting blind is better than not starting: alarms still raise anew.
      metrics_.add("engine_restore_failures_total");
      spdlog::error("ALERTS_RESTORE_FAILED reason=\"{}\" (starting with no active alerts)", error.what());
    }
  }
  apply(engine_.on_time(clock_.wall_now()));  // what fell due while we were down
  schedule_wakeup();
}

void Alerting::stop() {
  stopped_ = true;
  wakeup_.cancel();
  save_timer_.cancel();
  hooks_.save_state(engine_.snapshot());
}

void Alerting::on_event(const v1::SensorEvent& event) {
  auto output = engine_.on_event(event, clock_.wall_now());
  if (output.empty()) {
    save_soon();  // counters and timers moved; no hurry
  } else {
    apply(std::move(output));
  }
  schedule_wakeup();
}

void Alerting::on_command(const v1::Command& command, std::string_view arrived_on) {
  std::string channel = command.channel().empty() ? std::string(arrived_on) : command.channel();
  std::string actor = command.actor().empty() ? "unknown" : command.actor();
  rules::Output output;
  if (command.has_acknowledge()) {
    output = engine_.acknowledge(command.acknowledge().alert_id(), actor, channel, clock_.wall_now());
  } else if (command.has_resolve()) {
    output = engine_.resolve(command.resolve().alert_id(), actor, channel, clock_.wall_now());
  } else {
    return;
  }
  metrics_.add(output.empty() ? "commands_without_effect_total" : "commands_applied_total");
  apply(std::move(output));
  schedule_wakeup();
}

void Alerting::apply(rules::Output output) {
  if (output.empty()) return;
  for (auto& transition : output.transitions) {
    metrics_.add("alert_transitions_total");
    spdlog::info("ALERT_TRANSITION alert={} rule={} {}->{} step={} target={} actor={} channel={} reason=\"{}\"",
                 transition.alert_id(), transition.alert().rule_id(), v1::AlertState_Name(transition.from_state()),
                 v1::AlertState_Name(transition.to_state()), transition.escalation_step(),
                 transition.escalation_target(), transition.actor(), transition.channel(), transition.reason());
    hooks_.emit_transition(std::move(transition));
  }
  for (const auto& delivery : output.deliveries) deliver(delivery);
  // Saved with the transitions, in the same group commit: after a crash the
  // state and the audit trail agree.
  hooks_.save_state(engine_.snapshot());
  metrics_.set("alerts_active", engine_.active_alerts().size());
}

void Alerting::deliver(const rules::Delivery& delivery) {
  const v1::Alert& alert = delivery.alert;
  nlohmann::json notice = {{"alert_id", alert.id()},
                           {"rule", alert.rule_id()},
                           {"severity", v1::Severity_Name(alert.severity())},
                           {"summary", alert.summary()},
                           {"resident", alert.resident_id()},
                           {"room", alert.room()},
                           {"bed", alert.bed()},
                           {"device", alert.device_id()},
                           {"step", delivery.step}};
  if (delivery.target == "local_alarm") {
    hooks_.publish_local(config_.escalation.local_alarm_topic, notice.dump());
  } else if (delivery.target == "nurse_station") {
    hooks_.publish_local(config_.escalation.nurse_station_topic, notice.dump());
  } else if (delivery.target == "platform") {
    // The transition itself goes upstream: the platform's alarm desk reads it.
  } else {
    // family contact and the DC-09 operator link are not built yet: say so loudly.
    metrics_.add("escalation_undeliverable_total{target=\"" + delivery.target + "\"}");
    spdlog::error("ESCALATION_UNDELIVERABLE alert={} target={} step={} reason=\"no channel for this target yet\"",
                  alert.id(), delivery.target, delivery.step);
    return;
  }
  metrics_.add("escalation_deliveries_total{target=\"" + delivery.target + "\"}");
}

void Alerting::schedule_wakeup() {
  if (stopped_) return;
  auto next = engine_.next_wakeup();
  wakeup_.cancel();
  if (!next) return;
  auto delay = std::max(WallTime::duration::zero(), *next - clock_.wall_now());
  wakeup_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
  wakeup_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    apply(engine_.on_time(clock_.wall_now()));
    schedule_wakeup();
  });
}

void Alerting::save_soon() {
  if (save_pending_ || stopped_) return;
  save_pending_ = true;
  save_timer_.expires_after(std::chrono::seconds(1));
  save_timer_.async_wait([this](boost::system::error_code ec) {
    save_pending_ = false;
    if (!ec && !stopped_) hooks_.save_state(engine_.snapshot());
  });
}

}  // namespace eg::gateway
