#include "alerting.hpp"

#include "eg/common/log_text.hpp"

#include <spdlog/spdlog.h>

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

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
  for (const auto& code : config.operator_link.codes) {
    bool known =
        std::any_of(set.rules.begin(), set.rules.end(), [&](const rules::Rule& r) { return r.id == code.rule; });
    if (!known)
      throw ConfigError(config.source_file + ": [[operator.codes]]: rule '" + code.rule + "' is not in " +
                        config.rules_file);
  }
  return set;
}

namespace {

// Why a target has no channel in this configuration; empty when it has one.
std::string missing_channel(const std::string& target, const GatewayConfig& config) {
  if (target == "operator" && !config.operator_link.enabled)
    return "no [operator] link is configured (docs/operators.md)";
  if (target == "family" && config.family.webhooks.empty())
    return "no [[family.webhook]] is configured (docs/rules.md)";
  if (target == "family") return "no [[family.webhook]] takes this resident's alerts";
  if (target == "local_alarm" && config.escalation.local_alarm_topic.empty())
    return "escalation.local_alarm_topic is empty";
  if (target == "nurse_station" && config.escalation.nurse_station_topic.empty())
    return "escalation.nurse_station_topic is empty";
  return {};
}

}  // namespace

std::vector<std::string> undeliverable_rungs(const rules::RuleSet& set, const GatewayConfig& config) {
  // A family step is deliverable for the residents some webhook serves; here
  // only "none at all" is a configuration problem.
  std::vector<std::string> warnings;
  for (const auto& [id, ladder] : set.ladders) {
    std::string users;
    for (const auto& rule : set.rules)
      if (rule.ladder == id) users += (users.empty() ? "" : ", ") + rule.id;
    if (users.empty()) continue;
    for (std::size_t i = 0; i < ladder.steps.size(); ++i) {
      const std::string& target = ladder.steps[i].target;
      if (target == "family" && !config.family.webhooks.empty()) continue;
      std::string why = missing_channel(target, config);
      if (why.empty()) continue;
      bool last = i + 1 == ladder.steps.size();
      warnings.push_back(config.rules_file + ": ladder '" + id + "' step " + std::to_string(i + 1) + " (" +
                         ladder.steps[i].target + ") cannot deliver: " + why + "; " +
                         (last ? "it is the last step: the ladder ends with the step before it"
                               : "alerts skip to the next step at once") +
                         " (rules: " + users + ")");
    }
  }
  return warnings;
}

namespace {

std::map<std::string, Alerting::RuleInfo> rule_info_for(const rules::RuleSet& set, const OperatorConfig& config) {
  std::map<std::string, Alerting::RuleInfo> info;
  for (const auto& rule : set.rules) {
    Alerting::RuleInfo entry;
    entry.code = operator_code_for(rule, config.codes);
    auto ladder = set.ladders.find(rule.ladder);
    if (ladder != set.ladders.end())
      for (std::size_t i = 0; i < ladder->second.steps.size(); ++i)
        if (ladder->second.steps[i].target == "operator") {
          entry.operator_step = i;
          break;
        }
    info.emplace(rule.id, std::move(entry));
  }
  return info;
}

}  // namespace

Alerting::Alerting(boost::asio::io_context& io, rules::RuleSet rules, const GatewayConfig& config, const Clock& clock,
                   Metrics& metrics, Hooks hooks)
    : rule_info_(rule_info_for(rules, config.operator_link)),
      engine_(std::move(rules), config.gateway_id),
      config_(config),
      clock_(clock),
      metrics_(metrics),
      hooks_(std::move(hooks)),
      io_(io),
      wakeup_(io) {
  for (const auto& warning : undeliverable_rungs(engine_.rules(), config))
    spdlog::warn("LADDER_STEP_UNDELIVERABLE detail=\"{}\"", warning);
  engine_.set_reachability(
      [this](const std::string& target, const v1::Alert& alert) { return reachable(target, alert); });
  if (!config.family.webhooks.empty())
    family_ = std::make_unique<FamilyNotifier>(
        io, config.family, config.site, metrics,
        [this](const v1::Alert& alert, std::uint32_t step, const FamilyNotifier::Outcome& outcome) {
          on_family_outcome(alert, step, outcome);
        });
  if (config.operator_link.enabled)
    operator_ = std::make_unique<OperatorLink>(
        io, config.operator_link, clock, metrics,
        OperatorLink::Hooks{[this](const OperatorLink::Sent& sent, const dc09::LinkCore::Outcome& outcome,
                                   const dc09::Endpoint& endpoint) { on_operator_outcome(sent, outcome, endpoint); },
                            [this](std::size_t path, const dc09::Endpoint& endpoint, bool up,
                                   const std::string& reason) { on_operator_path(path, endpoint, up, reason); },
                            hooks_.persist_operator_message, hooks_.forget_operator_message});
}

void Alerting::start(const std::vector<rules::StateRow>& saved_rows, const std::optional<std::string>& legacy_snapshot,
                     const std::vector<StoredOperatorMessage>& unacknowledged_operator_messages) {
  if (!saved_rows.empty() || legacy_snapshot) {
    try {
      if (!saved_rows.empty()) {
        engine_.restore_rows(saved_rows, engine_time());
      } else {
        engine_.restore(*legacy_snapshot);
        for (auto& row : engine_.all_rows()) migrated_rows_.push_back(std::move(row));
      }
      spdlog::info("ALERTS_RESTORED active={} tracked={} from={}", engine_.active_count(), engine_.tracked_subjects(),
                   saved_rows.empty() ? "snapshot" : "rows");
    } catch (const ConfigError& error) {
      // Starting blind is better than not starting: alarms still raise anew.
      metrics_.add("engine_restore_failures_total");
      spdlog::error("ALERTS_RESTORE_FAILED reason=\"{}\" (starting with no active alerts)", error.what());
    }
  }
  if (operator_) operator_->start(unacknowledged_operator_messages);
  reannounce_local();
  apply(engine_.on_time(engine_time()));  // what fell due while we were down
  schedule_wakeup();
}

// After a restart (a crash, a power cut), an alarm nobody has acknowledged is
// told again to the room and the nurse station it already reached: notices
// not yet taken by the local broker lived only in the old process's memory.
void Alerting::reannounce_local() {
  const auto& set = engine_.rules();
  for (const auto& alert : engine_.active_alerts()) {
    if (alert.state() != v1::ALERT_STATE_ESCALATING) continue;
    auto rule =
        std::find_if(set.rules.begin(), set.rules.end(), [&](const rules::Rule& r) { return r.id == alert.rule_id(); });
    if (rule == set.rules.end()) continue;
    auto ladder = set.ladders.find(rule->ladder);
    if (ladder == set.ladders.end()) continue;
    std::set<std::string> told;
    const auto reached = std::min<std::size_t>(alert.escalation_step(), ladder->second.steps.size());
    for (std::size_t i = 0; i < reached; ++i) {
      const auto& target = ladder->second.steps[i].target;
      if ((target != "local_alarm" && target != "nurse_station") || !told.insert(target).second) continue;
      spdlog::info("ALERT_REANNOUNCED alert={} target={} reason=\"still unacknowledged after a restart\"",
                   log_quoted(alert.id()), target);
      deliver({target, static_cast<std::uint32_t>(i + 1), alert});
    }
  }
}

void Alerting::stop() {
  stopped_ = true;
  wakeup_.cancel();
  if (operator_) operator_->stop();
  if (family_) family_->stop();
}

std::vector<rules::StateRow> Alerting::take_state_changes() {
  auto rows = engine_.take_changes();
  if (!migrated_rows_.empty()) {
    rows.insert(rows.begin(), std::make_move_iterator(migrated_rows_.begin()),
                std::make_move_iterator(migrated_rows_.end()));
    migrated_rows_.clear();
  }
  return rows;
}

void Alerting::on_event(const v1::SensorEvent& event) {
  apply(engine_.on_event(event, engine_time()));
  schedule_wakeup();
}

void Alerting::on_command(const v1::Command& command, std::string_view arrived_on) {
  std::string channel = command.channel().empty() ? std::string(arrived_on) : command.channel();
  std::string actor = command.actor().empty() ? "unknown" : command.actor();
  rules::Output output;
  if (command.has_acknowledge()) {
    output = engine_.acknowledge(command.acknowledge().alert_id(), actor, channel, engine_time());
  } else if (command.has_resolve()) {
    output = engine_.resolve(command.resolve().alert_id(), actor, channel, engine_time());
  } else if (command.has_set_away()) {
    set_away(command.set_away(), actor, channel);
    return;
  } else if (command.has_returned()) {
    spdlog::info("RESIDENT_RETURNED resident={} actor={} channel={}", log_quoted(command.returned().resident_id()),
                 log_quoted(actor), log_quoted(channel));
    output = engine_.returned(command.returned().resident_id(), engine_time());
    metrics_.add("residents_returned_total");
  } else {
    return;
  }
  metrics_.add(output.empty() ? "commands_without_effect_total" : "commands_applied_total");
  apply(std::move(output));
  schedule_wakeup();
}

// Away for at most kMaxAway: a typing error must not pause a resident's
// inactivity alarms for a year.
void Alerting::set_away(const v1::SetAway& away, const std::string& actor, const std::string& channel) {
  constexpr auto kMaxAway = std::chrono::hours(24 * 30);
  const WallTime now = engine_time();
  const WallTime wall_now = clock_.wall_now();
  const WallTime expected{std::chrono::duration_cast<WallTime::duration>(
      std::chrono::nanoseconds(google::protobuf::util::TimeUtil::TimestampToNanoseconds(away.expected_return())))};
  std::string problem;
  if (away.resident_id().empty())
    problem = "no resident_id";
  else if (!away.has_expected_return() || expected <= wall_now)
    problem = "expected_return is not in the future";
  else if (expected - wall_now > kMaxAway)
    problem = "expected_return is more than 30 days ahead";
  if (problem.empty() &&
      !engine_.set_away(away.resident_id(), now + std::chrono::duration_cast<WallTime::duration>(expected - wall_now),
                        now))
    problem = "the rule pack has no away rule to keep it";
  if (!problem.empty()) {
    metrics_.add("commands_rejected_total{reason=\"away\"}");
    spdlog::warn("AWAY_REJECTED resident={} actor={} channel={} reason={}", log_quoted(away.resident_id()),
                 log_quoted(actor), log_quoted(channel), log_quoted(problem));
    return;
  }
  metrics_.add("residents_set_away_total");
  spdlog::info("RESIDENT_AWAY resident={} expected_return_in_s={} actor={} channel={}", log_quoted(away.resident_id()),
               std::chrono::duration_cast<std::chrono::seconds>(expected - wall_now).count(), log_quoted(actor),
               log_quoted(channel));
  schedule_wakeup();
}

void Alerting::apply(rules::Output output) {
  if (output.empty()) return;
  for (auto& transition : output.transitions) {
    metrics_.add("alert_transitions_total");
    spdlog::info("ALERT_TRANSITION alert={} rule={} {}->{} step={} target={} actor={} channel={} reason={}",
                 log_quoted(transition.alert_id()), transition.alert().rule_id(),
                 v1::AlertState_Name(transition.from_state()), v1::AlertState_Name(transition.to_state()),
                 transition.escalation_step(), transition.escalation_target(), log_quoted(transition.actor()),
                 log_quoted(transition.channel()), log_quoted(transition.reason()));
    if (operator_) follow_up_operator(transition);
    hooks_.emit_transition(std::move(transition));
  }
  for (const auto& delivery : output.deliveries) deliver(delivery);
  for (const auto& delivery : output.undeliverable) report_undeliverable(delivery);
  // The state rows this changed go in the same group commit as the
  // transitions (take_state_changes): after a crash they agree.
  publish_engine_metrics();
}

void Alerting::publish_engine_metrics() {
  metrics_.set("alerts_active", engine_.active_count());
  metrics_.set("rule_trackers", engine_.tracked_subjects());
  metrics_.set("rule_trackers_evicted_total", engine_.counters().trackers_evicted);
  metrics_.set("alerts_refused_total", engine_.counters().alerts_refused);
  metrics_.set("self_test_events_total", engine_.counters().self_test_events);
  metrics_.set("stale_alarm_states_ignored_total", engine_.counters().stale_states_after_resolve);
  metrics_.set("clears_from_other_devices_total", engine_.counters().clears_from_other_devices);
  metrics_.set("cancels_from_other_devices_total", engine_.counters().cancels_from_other_devices);
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
  } else if (delivery.target == "family" && family_ && family_->serves(alert.resident_id())) {
    family_->send(alert, delivery.step);
  } else if (delivery.target == "operator" && operator_) {
    auto info = rule_info_.find(alert.rule_id());
    operator_->send(OperatorLink::Kind::alarm, alert, delivery.step,
                    info != rule_info_.end() ? info->second.code : OperatorCode{});
  } else {
    // The engine asks reachable() before it hands out a rung, so this is a
    // reannouncement of a rung whose channel has gone since.
    report_undeliverable(delivery);
    return;
  }
  metrics_.add("escalation_deliveries_total{target=\"" + delivery.target + "\"}");
}

bool Alerting::reachable(const std::string& target, const v1::Alert& alert) const {
  if (target == "platform") return !hooks_.platform_reachable || hooks_.platform_reachable();
  if (target == "operator") return operator_ != nullptr;
  if (target == "family") return family_ && family_->serves(alert.resident_id());
  return missing_channel(target, config_).empty();
}

// A delivery record: a transition that changes no state and says whether a
// target got the alert. The alert as it stands now, or as it was sent if the
// engine has forgotten it (resolved since).
v1::AlertTransition Alerting::delivery_record(const v1::Alert& sent, const std::string& actor,
                                              const std::string& channel, std::uint32_t step,
                                              const std::string& target) const {
  auto current = engine_.find_alert(sent.id());
  v1::Alert alert = current.value_or(sent);
  if (!current) alert.set_state(v1::ALERT_STATE_RESOLVED);  // the engine forgets alerts once resolved
  v1::AlertTransition t;
  t.set_alert_id(alert.id());
  t.set_gateway_id(alert.gateway_id());
  t.set_from_state(alert.state());
  t.set_to_state(alert.state());
  *t.mutable_time() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.wall_now().time_since_epoch()).count());
  t.set_actor(actor);
  t.set_channel(channel);
  t.set_escalation_step(step);
  t.set_escalation_target(target);
  *t.mutable_alert() = std::move(alert);
  return t;
}

// The family's notification service answered (2xx) or never did: a delivery
// record upstream, and the people on site told when it failed for good.
void Alerting::on_family_outcome(const v1::Alert& sent, std::uint32_t step, const FamilyNotifier::Outcome& outcome) {
  if (stopped_) return;
  auto t = delivery_record(sent, "family:webhook", "webhook", step, "family");
  const v1::Alert alert = t.alert();  // a copy: t is moved out below
  t.set_delivery(outcome.delivered ? v1::DELIVERY_CONFIRMED : v1::DELIVERY_FAILED);
  t.set_reason(outcome.delivered ? "the family's notification service took the alert"
                                 : "the family's notification service did not take the alert: " + outcome.detail);
  t.set_delivery_detail("POST " + outcome.url + " -> " + outcome.detail +
                        " attempts=" + std::to_string(outcome.attempts));
  spdlog::log(outcome.delivered ? spdlog::level::info : spdlog::level::err,
              "ALERT_DELIVERY alert={} rule={} target=family delivery={} detail={}", log_quoted(alert.id()),
              alert.rule_id(), v1::Delivery_Name(t.delivery()), log_quoted(t.delivery_detail()));
  metrics_.add("alert_transitions_total");
  hooks_.emit_transition(std::move(t));
  if (!outcome.delivered && alert.state() != v1::ALERT_STATE_ACKNOWLEDGED && alert.state() != v1::ALERT_STATE_RESOLVED)
    report_undeliverable({"family", step, alert});
}

// A rung the ladder skipped: the platform sees it as a failed delivery in the
// transition; here the metric, the log, and the people on site who maintain
// the box (the nurse station console shows maintenance notices).
void Alerting::report_undeliverable(const rules::Delivery& delivery) {
  const v1::Alert& alert = delivery.alert;
  std::string why = delivery.target == "platform" ? "the uplink to the platform is down"
                    : delivery.target == "family" && family_ && family_->serves(alert.resident_id())
                        ? "the family's notification service did not take it"
                        : missing_channel(delivery.target, config_);
  metrics_.add("escalation_undeliverable_total{target=\"" + delivery.target + "\"}");
  spdlog::error("ESCALATION_UNDELIVERABLE alert={} rule={} target={} step={} reason={}", log_quoted(alert.id()),
                alert.rule_id(), delivery.target, delivery.step, log_quoted(why));
  if (config_.escalation.maintenance_topic.empty()) return;
  nlohmann::json notice = {{"alert_id", alert.id()},
                           {"rule", alert.rule_id()},
                           {"severity", v1::Severity_Name(alert.severity())},
                           {"undeliverable_target", delivery.target},
                           {"step", delivery.step},
                           {"reason", why},
                           {"summary", "Escalation step " + std::to_string(delivery.step) + " (" + delivery.target +
                                           ") could not be reached for: " + alert.summary()}};
  hooks_.publish_local(config_.escalation.maintenance_topic, notice.dump());
}

void Alerting::on_device_cancel(const v1::SensorEvent& event) {
  rules::Output output = engine_.device_cancel(event, config_.escalation.cancel_resolves_within, engine_time());
  const auto resolved = static_cast<std::size_t>(
      std::count_if(output.transitions.begin(), output.transitions.end(),
                    [](const v1::AlertTransition& t) { return t.to_state() == v1::ALERT_STATE_RESOLVED; }));
  spdlog::info("DEVICE_CANCEL device={} resident={} action={} transitions={} resolved={}",
               log_quoted(event.device_id()), log_quoted(event.resident_id()), log_quoted(event.sos().vendor_action()),
               output.transitions.size(), resolved);
  metrics_.add(output.empty() ? "device_cancels_without_effect_total" : "device_cancels_applied_total");
  if (resolved > 0) metrics_.add("device_cancels_resolved_total", resolved);
  apply(std::move(output));
  schedule_wakeup();
}

// Restore (qualifier 3) when an alert the operator received resolves; cancel
// (406) when it is acknowledged on site before its operator step, if the
// receiving centre wants cancels.
void Alerting::follow_up_operator(const v1::AlertTransition& transition) {
  const v1::Alert& alert = transition.alert();
  auto info = rule_info_.find(alert.rule_id());
  if (info == rule_info_.end() || !info->second.operator_step) return;
  const bool operator_had_it = alert.escalation_step() > *info->second.operator_step;
  if (transition.to_state() == v1::ALERT_STATE_RESOLVED && transition.from_state() != v1::ALERT_STATE_RESOLVED &&
      operator_had_it) {
    operator_->send(OperatorLink::Kind::restore, alert, transition.escalation_step(), info->second.code);
  } else if (transition.to_state() == v1::ALERT_STATE_ACKNOWLEDGED &&
             transition.from_state() != v1::ALERT_STATE_ACKNOWLEDGED && !operator_had_it &&
             config_.operator_link.send_cancels) {
    operator_->send(OperatorLink::Kind::cancel, alert, transition.escalation_step(), info->second.code);
  }
}

// Delivery records: ACK, failure and refusal of a DC-09 message become alert
// transitions (state unchanged), so the platform sees what the operator got.
void Alerting::on_operator_outcome(const OperatorLink::Sent& sent, const dc09::LinkCore::Outcome& outcome,
                                   const dc09::Endpoint& endpoint) {
  if (sent.kind == OperatorLink::Kind::test || stopped_) return;
  auto t =
      delivery_record(sent.alert, "operator:" + OperatorLink::path_name(outcome.path), "dc09", sent.step, "operator");
  const v1::Alert alert = t.alert();  // a copy: t is moved out below
  char sequence[8];
  std::snprintf(sequence, sizeof sequence, "%04u", outcome.sequence);
  std::string detail = std::string(OperatorLink::kind_name(sent.kind)) + " code=" +
                       std::to_string(sent.kind == OperatorLink::Kind::cancel ? kCidCancel : sent.code.code) +
                       " zone=" + std::to_string(sent.code.zone) + " seq=" + sequence +
                       " path=" + OperatorLink::path_name(outcome.path) + " (" + endpoint.describe() +
                       ") attempts=" + std::to_string(outcome.attempts);
  switch (outcome.kind) {
    case dc09::LinkCore::Outcome::Kind::delivered:
      t.set_delivery(v1::DELIVERY_CONFIRMED);
      t.set_reason(std::string("operator received the ") + OperatorLink::kind_name(sent.kind));
      break;
    case dc09::LinkCore::Outcome::Kind::failed:
      t.set_delivery(v1::DELIVERY_FAILED);
      t.set_reason("operator unreachable on every path (still retrying): " + outcome.detail);
      break;
    case dc09::LinkCore::Outcome::Kind::rejected:
      t.set_delivery(v1::DELIVERY_REJECTED);
      t.set_reason("operator's receiver refused the message: " + outcome.detail);
      break;
  }
  t.set_delivery_detail(detail);
  spdlog::info("ALERT_DELIVERY alert={} rule={} target=operator delivery={} reason={} {}", log_quoted(alert.id()),
               alert.rule_id(), v1::Delivery_Name(t.delivery()), log_quoted(t.reason()), detail);
  metrics_.add("alert_transitions_total");
  hooks_.emit_transition(std::move(t));
  // An alarm the operator cannot get: the people on site must know now, not
  // when the ladder next repeats.
  if (outcome.kind != dc09::LinkCore::Outcome::Kind::delivered && sent.kind == OperatorLink::Kind::alarm &&
      alert.state() != v1::ALERT_STATE_ACKNOWLEDGED && alert.state() != v1::ALERT_STATE_RESOLVED) {
    nlohmann::json notice = {{"alert_id", alert.id()},
                             {"rule", alert.rule_id()},
                             {"severity", v1::Severity_Name(alert.severity())},
                             {"summary", alert.summary() + " - EMERGENCY OPERATOR NOT REACHED"},
                             {"resident", alert.resident_id()},
                             {"room", alert.room()},
                             {"bed", alert.bed()},
                             {"device", alert.device_id()},
                             {"step", sent.step},
                             {"operator_unreachable", true}};
    hooks_.publish_local(config_.escalation.nurse_station_topic, notice.dump());
    hooks_.publish_local(config_.escalation.local_alarm_topic, notice.dump());
    metrics_.add("operator_local_escalations_total");
  }
}

// A receiver path going down (or up) is a health event of the gateway
// itself, device "gateway:<id>/operator-<path>": the default rule
// operator-link-down turns it into an alert on a local ladder.
void Alerting::on_operator_path(std::size_t path, const dc09::Endpoint& endpoint, bool up, const std::string& reason) {
  v1::SensorEvent event;
  event.set_device_id("gateway:" + config_.gateway_id + "/operator-" + OperatorLink::path_name(path));
  event.set_kind(v1::EVENT_KIND_DEVICE_HEALTH);
  event.mutable_device_health()->set_condition(up ? v1::DeviceHealthPayload::CONDITION_OPERATOR_LINK_UP
                                                  : v1::DeviceHealthPayload::CONDITION_OPERATOR_LINK_DOWN);
  event.set_driver("gateway");
  event.set_source_topic("dc09 " + endpoint.describe() + ": " + reason);
  // Posted: the transmitter is mid-callback, and the event re-enters the engine.
  boost::asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), event = std::move(event)]() mutable {
    if (alive.expired() || stopped_ || !hooks_.emit_event) return;  // Alerting is gone or stopping
    hooks_.emit_event(std::move(event));
  });
}

// Re-armed only when the engine's next deadline moved: most events change no
// deadline, and each re-arm is a system call.
void Alerting::schedule_wakeup() {
  if (stopped_) return;
  auto next = engine_.next_wakeup();
  if (next == armed_for_) return;
  armed_for_ = next;
  wakeup_.cancel();
  if (!next) return;
  // Engine time is monotonic: a step of the wall clock moves no deadline.
  auto delay = std::max(WallTime::duration::zero(), *next - engine_time());
  wakeup_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
  wakeup_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    armed_for_.reset();
    tick();
  });
}

void Alerting::tick() {
  if (stopped_) return;
  apply(engine_.on_time(engine_time()));
  schedule_wakeup();
}

// The monotonic clock on the wall clock's scale, anchored when we started:
// equal to wall time until the wall clock is stepped, then apart by the step.
// The engine's intervals and deadlines run on it; the offset it is told
// keeps its timestamps and schedules on the wall clock.
WallTime Alerting::engine_time() {
  WallTime now = anchor_wall_ + std::chrono::duration_cast<WallTime::duration>(clock_.steady_now() - anchor_steady_);
  engine_.set_wall_offset(clock_.wall_now() - now);
  return now;
}

}  // namespace eg::gateway
