// Rules, escalation ladders and residents: what the engine evaluates. Loaded
// from TOML (load_rules), validated with file:line errors. Plain values; the
// engine never changes them.
#pragma once

#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "eg/common/toml_reader.hpp"
#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/sensor_event.pb.h"

namespace eg::rules {

// A rule file problem: "file:line:col: reason".
using RuleError = eg::ConfigError;

// Which events a rule watches; empty fields match anything.
struct Selector {
  eldercare::v1::EventKind kind = eldercare::v1::EVENT_KIND_UNSPECIFIED;
  std::string device;
  std::string resident;
  std::string room;
  // Registry roles of the device ("exit" doors for night wandering). An event
  // whose device has no role given matches: an alarm rather than a miss.
  std::set<std::string> device_roles;
};

// A daily time window in the site's local time, e.g. 22:00-06:00. A window
// that crosses midnight belongs to the day it starts on.
struct Schedule {
  int from_minute = 0;                          // minutes after local midnight
  int to_minute = 0;                            // exclusive; < from_minute when the window crosses midnight
  std::set<int> weekdays{0, 1, 2, 3, 4, 5, 6};  // 0 = Sunday
};

enum class ConditionType {
  kMatch,      // a field equals one of some words (fall.state == detected, gas.alarm == true)
  kThreshold,  // a number above/below a limit, with hysteresis to clear
  kCount,      // at least N matching events within a sliding window
  kAbsence,    // no matching event for a while
  kAway,       // a resident marked away is not back (no sign of life) by the expected return + for_s
};

// The tunable numbers of a rule; a resident's overrides replace them by name
// ("above", "clear_below", "for_s", ...).
struct Parameters {
  double above = NAN;        // threshold: raise when value > above
  double below = NAN;        // threshold: raise when value < below
  double clear_below = NAN;  // threshold: clear when value < clear_below (with `above`)
  double clear_above = NAN;  // threshold: clear when value > clear_above (with `below`)
  double for_s = 0;          // match/threshold: must hold this long before raising; away: grace after the return
  double at_least = 0;       // count: events needed...
  double within_s = 0;       // ...within this window; away: signs of life this soon after are her leaving
  double absent_for_s = 0;   // absence: silence that raises
};

// Names a resident override may use, for validation.
const std::set<std::string>& parameter_names();
double& parameter(Parameters& p, const std::string& name);

struct Rule {
  std::string id;
  int line = 0;  // where it was defined, for messages
  std::string summary;
  eldercare::v1::Severity severity = eldercare::v1::SEVERITY_MEDIUM;
  // kMatch with several words may rank them: {"suspected": MEDIUM, "detected": HIGH}.
  std::map<std::string, eldercare::v1::Severity> severity_by_value;
  Selector watch;
  ConditionType type = ConditionType::kMatch;
  std::string field;             // "fall.state", "vitals.heart_rate_bpm", ...
  std::set<std::string> equals;  // kMatch: words that make the condition true
  std::set<std::string> clears;  // kMatch: words that clear it; empty: every word not in `equals`
  // One alert per device instead of per resident (equipment rules: two
  // sensors of one resident are two problems). Default for device_health.
  bool per_device = false;
  Parameters parameters;
  std::optional<Schedule> schedule;
  std::string requires_flag;  // resident flag the rule needs ("dementia", "living_alone")
  bool auto_resolve = true;   // resolve when the condition clears (else by hand)
  std::string ladder;         // escalation ladder id
  // Acknowledged but not resolved this long: re-alert from the first step.
  // Overrides the ladder's realert_after; 0 turns re-alerting off.
  std::optional<std::chrono::seconds> realert_after;
  // What counts as a new trigger of a standing alert: a rising edge of the
  // condition (default), or every event that reports it (press-style buttons
  // that say "active" on each press and never "inactive").
  bool retrigger_each_event = false;
};

struct Step {
  std::string target;  // local_alarm, nurse_station, platform, family, operator
  std::chrono::seconds timeout{0};
};

struct Ladder {
  std::string id;
  std::vector<Step> steps;
  // After the last step, the ladder repeats every this long until someone
  // acknowledges (0: it does not): every step again when repeat_all, else
  // only the last.
  std::chrono::seconds repeat_every{0};
  bool repeat_all = true;
  // An acknowledged alert nobody resolved within this re-alerts: a new
  // episode from the first step (0: acknowledged stays acknowledged).
  std::chrono::seconds realert_after{0};
};

struct Resident {
  std::string id;
  std::set<std::string> flags;              // "dementia", "living_alone", ...
  std::map<std::string, double> overrides;  // "<rule id>.<parameter>" -> value
};

struct RuleSet {
  std::vector<Rule> rules;
  std::map<std::string, Ladder> ladders;
  std::chrono::minutes utc_offset{8 * 60};  // the site's local time, for schedules
  std::map<std::string, Resident> residents;
};

// Known escalation targets.
const std::set<std::string>& known_targets();

// Reads a rule file. Throws RuleError "file:line:col: reason".
RuleSet load_rules(const std::string& path);
RuleSet parse_rules(std::string_view text, const std::string& name);

// Checks each resident's overrides against the rules; throws RuleError naming
// the resident and key.
void check_residents(const RuleSet& rules);

}  // namespace eg::rules
