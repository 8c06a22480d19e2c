#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "eg/proto/event_kind_words.hpp"
#include "eg/rules/rule_set.hpp"
#include "fields.hpp"

namespace eg::rules {
namespace {

namespace v1 = eldercare::v1;

std::optional<v1::Severity> severity_from(const std::string& word) {
  if (word == "info") return v1::SEVERITY_INFO;
  if (word == "low") return v1::SEVERITY_LOW;
  if (word == "medium") return v1::SEVERITY_MEDIUM;
  if (word == "high") return v1::SEVERITY_HIGH;
  return std::nullopt;
}

// Longer is surely a typo; the cap also keeps the engine's nanosecond time
// points far from overflow (a "_s" key takes any int64).
constexpr double kLongestDuration = 365 * 86400.0;

// A duration: `<name>` as text with a unit ("90s", "2m", "12h", "1d") or
// `<name>_s` as whole seconds. Absent: nullopt.
std::optional<double> read_duration(TomlReader& in, const toml::table& table, const std::string& name) {
  std::string seconds_key = name + "_s";
  bool has_text = table.contains(name), has_seconds = table.contains(seconds_key);
  if (has_text && has_seconds) in.fail_at(*table.get(name), name, "give " + name + " or " + seconds_key + ", not both");
  if (has_seconds) {
    const toml::node& node = *table.get(seconds_key);
    auto n = in.optional_int(seconds_key.c_str(), 0, INT64_MIN, INT64_MAX);
    if (n < 0) in.fail_at(node, seconds_key, "a duration cannot be negative");
    if (static_cast<double>(n) > kLongestDuration)
      in.fail_at(node, seconds_key, "a duration cannot be longer than 365 days");
    return static_cast<double>(n);
  }
  if (!has_text) return std::nullopt;
  const toml::node& node = *table.get(name);
  std::string text = in.optional_string(name.c_str(), "");
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || !std::isfinite(value))  // "soon", "nans", "infs"
    in.fail_at(node, name, "expected a duration like \"90s\", \"2m\", \"12h\" or \"1d\"");
  if (value < 0) in.fail_at(node, name, "a duration cannot be negative");
  std::string unit = text.substr(used);
  static const std::map<std::string, double> units = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  auto it = units.find(unit);
  if (it == units.end()) in.fail_at(node, name, "unknown unit '" + unit + "' in \"" + text + "\" (use s, m, h or d)");
  if (value * it->second > kLongestDuration) in.fail_at(node, name, "a duration cannot be longer than 365 days");
  return value * it->second;
}

// Two decimal digits at text[at], as a number; -1 when they are not digits.
int two_digits(const std::string& text, std::size_t at) {
  if (at + 2 > text.size() || !std::isdigit(static_cast<unsigned char>(text[at])) ||
      !std::isdigit(static_cast<unsigned char>(text[at + 1])))
    return -1;
  return (text[at] - '0') * 10 + (text[at + 1] - '0');
}

// "HH:MM" as minutes after midnight; "24:00" only where a window may end.
int minute_of_day(TomlReader& in, const toml::table& table, const char* key, bool end) {
  std::string text = in.optional_string(key, "");
  int h = two_digits(text, 0), m = two_digits(text, 3);
  if (text.size() != 5 || text[2] != ':' || h < 0 || m < 0 || h > 24 || m > 59 || (h == 24 && (m != 0 || !end)))
    in.fail_at(*table.get(key), key, "expected a local time \"HH:MM\"");
  return h * 60 + m;
}

Schedule read_schedule(const toml::table& table, const std::string& file) {
  TomlReader in(table, file, "rule.schedule");
  Schedule schedule;
  if (!table.contains("from") || !table.contains("to")) in.fail_here("rule.schedule needs from and to");
  schedule.from_minute = minute_of_day(in, table, "from", false);
  schedule.to_minute = minute_of_day(in, table, "to", true);
  if (schedule.from_minute == schedule.to_minute) in.fail_at(*table.get("to"), "to", "an empty time window");
  auto days = in.optional_string_array("days");
  if (!days.empty()) {
    static const std::map<std::string, int> names = {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3},
                                                     {"thu", 4}, {"fri", 5}, {"sat", 6}};
    schedule.weekdays.clear();
    for (const auto& day : days) {
      auto it = names.find(day);
      if (it == names.end()) in.fail_at(*table.get("days"), "days", "unknown day '" + day + "' (sun..sat)");
      schedule.weekdays.insert(it->second);
    }
  }
  in.reject_unknown_keys();
  return schedule;
}

// Words of a word field under `key` ("equals", "clears"): one string or a
// list, each checked against the field's values. Empty when absent and optional.
std::set<std::string> read_words(TomlReader& in, const toml::table& table, const std::string& field,
                                 const char* key = "equals", bool required = true) {
  const toml::node* node = table.get(key);
  std::vector<std::string> words;
  if (node != nullptr && node->is_string()) {
    words.push_back(in.optional_string(key, ""));
  } else {
    words = in.optional_string_array(key);
  }
  if (words.empty() && required)
    in.fail_here(in.qualified(key) + ": name the value(s) that raise, e.g. equals = \"true\"");
  const auto& allowed = field_words(field);
  for (const auto& word : words)
    if (std::find(allowed.begin(), allowed.end(), word) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      in.fail_at(*node, key, "'" + word + "' is not a value of " + field + " (" + list + ")");
    }
  return {words.begin(), words.end()};
}

std::string read_field(TomlReader& in, const toml::table& table, FieldType want, v1::EventKind kind) {
  std::string field = in.required_string("field");
  auto type = field_type(field);
  if (!type) in.fail_at(*table.get("field"), "field", "unknown field '" + field + "'");
  if (*type != want)
    in.fail_at(*table.get("field"), "field",
               field + (want == FieldType::kNumber ? " is not a number" : " is a number: use threshold"));
  if (kind != v1::EVENT_KIND_UNSPECIFIED && field_kind(field) != kind)
    in.fail_at(*table.get("field"), "field", field + " does not belong to the rule's kind");
  return field;
}

Rule read_rule(const toml::table& table, const std::string& file) {
  TomlReader in(table, file, "rule");
  Rule rule;
  rule.line = static_cast<int>(table.source().begin.line);
  rule.id = in.required_string("id");
  rule.summary = in.optional_string("summary", rule.id);
  std::string severity = in.optional_string("severity", "medium");
  if (auto s = severity_from(severity)) {
    rule.severity = *s;
  } else {
    in.fail_at(*table.get("severity"), "severity", "expected info, low, medium or high");
  }
  std::string kind = in.optional_string("kind", "");
  if (!kind.empty()) {
    rule.watch.kind = proto::event_kind_from_word(kind);
    if (rule.watch.kind == v1::EVENT_KIND_UNSPECIFIED)
      in.fail_at(*table.get("kind"), "kind", "unknown kind '" + kind + "'");
  }
  rule.watch.device = in.optional_string("device", "");
  rule.watch.resident = in.optional_string("resident", "");
  rule.watch.room = in.optional_string("room", "");
  for (auto& role : in.optional_string_array("device_role")) rule.watch.device_roles.insert(std::move(role));
  rule.requires_flag = in.optional_string("requires", "");
  rule.auto_resolve = in.optional_bool("auto_resolve", true);
  rule.ladder = in.optional_string("ladder", "");
  if (auto realert = read_duration(in, table, "realert_after")) {
    if (*realert != std::floor(*realert)) in.fail_at(*table.get("realert_after"), "realert_after", "whole seconds");
    rule.realert_after = std::chrono::seconds(static_cast<long long>(*realert));
  }
  std::string retrigger = in.optional_string("retrigger", "rising_edge");
  if (retrigger != "rising_edge" && retrigger != "each_event")
    in.fail_at(*table.get("retrigger"), "retrigger", "expected rising_edge or each_event");
  rule.retrigger_each_event = retrigger == "each_event";
  std::string per = in.optional_string("per", rule.watch.kind == v1::EVENT_KIND_DEVICE_HEALTH ? "device" : "resident");
  if (per != "device" && per != "resident") in.fail_at(*table.get("per"), "per", "expected device or resident");
  rule.per_device = per == "device";

  int conditions = 0;
  if (const toml::table* match = in.optional_table("match")) {
    ++conditions;
    TomlReader m(*match, file, "rule.match");
    rule.type = ConditionType::kMatch;
    rule.field = read_field(m, *match, FieldType::kWord, rule.watch.kind);
    rule.equals = read_words(m, *match, rule.field);
    // A field shared by several aspects (device_health.condition) needs to
    // say which values clear it; by default every other value does.
    rule.clears = read_words(m, *match, rule.field, "clears", false);
    for (const auto& word : rule.clears)
      if (rule.equals.contains(word)) m.fail_at(*match->get("clears"), "clears", "'" + word + "' also raises");
    rule.parameters.for_s = read_duration(m, *match, "for").value_or(0);
    m.reject_unknown_keys();
  }
  if (const toml::table* threshold = in.optional_table("threshold")) {
    ++conditions;
    TomlReader t(*threshold, file, "rule.threshold");
    rule.type = ConditionType::kThreshold;
    rule.field = read_field(t, *threshold, FieldType::kNumber, rule.watch.kind);
    auto number = [&](const char* key) {
      const toml::node* node = threshold->get(key);
      if (node == nullptr) return static_cast<double>(NAN);
      t.optional_double(key, 0);  // type check, and mark the key as known
      return node->value<double>().value_or(NAN);
    };
    Parameters& p = rule.parameters;
    p.above = number("above");
    p.below = number("below");
    p.clear_below = number("clear_below");
    p.clear_above = number("clear_above");
    p.for_s = read_duration(t, *threshold, "for").value_or(0);
    t.reject_unknown_keys();
    if (std::isnan(p.above) == std::isnan(p.below)) t.fail_here("rule.threshold: give exactly one of above or below");
    if (!std::isnan(p.above) && !std::isnan(p.clear_above))
      t.fail_at(*threshold->get("clear_above"), "clear_above", "goes with below, not above");
    if (!std::isnan(p.below) && !std::isnan(p.clear_below))
      t.fail_at(*threshold->get("clear_below"), "clear_below", "goes with above, not below");
    if (!std::isnan(p.clear_below) && p.clear_below > p.above)
      t.fail_at(*threshold->get("clear_below"), "clear_below",
                "overlapping hysteresis: must be at or below above (" + std::to_string(p.above) + ")");
    if (!std::isnan(p.clear_above) && p.clear_above < p.below)
      t.fail_at(*threshold->get("clear_above"), "clear_above",
                "overlapping hysteresis: must be at or above below (" + std::to_string(p.below) + ")");
  }
  if (const toml::table* count = in.optional_table("count")) {
    ++conditions;
    TomlReader c(*count, file, "rule.count");
    rule.type = ConditionType::kCount;
    if (count->contains("field")) {
      rule.field = read_field(c, *count, FieldType::kWord, rule.watch.kind);
      rule.equals = read_words(c, *count, rule.field);
    }
    rule.parameters.at_least = static_cast<double>(c.optional_int("at_least", 0, 1, 1000));
    if (!count->contains("at_least")) c.fail_here("rule.count needs at_least");
    auto within = read_duration(c, *count, "within");
    if (!within || *within <= 0) c.fail_here("rule.count needs a positive within");
    rule.parameters.within_s = *within;
    rule.auto_resolve = false;  // a count has no "cleared" state: someone closes it
    c.reject_unknown_keys();
  }
  if (const toml::table* absence = in.optional_table("absence")) {
    ++conditions;
    TomlReader a(*absence, file, "rule.absence");
    rule.type = ConditionType::kAbsence;
    auto quiet = read_duration(a, *absence, "for");
    if (!quiet || *quiet <= 0) a.fail_here("rule.absence needs a positive for");
    rule.parameters.absent_for_s = *quiet;
    a.reject_unknown_keys();
  }
  if (const toml::table* away = in.optional_table("away")) {
    ++conditions;
    TomlReader a(*away, file, "rule.away");
    rule.type = ConditionType::kAway;
    rule.parameters.for_s = read_duration(a, *away, "grace").value_or(0);
    // Her own leaving (the exit door, the hall sensor) is not a return.
    rule.parameters.within_s = read_duration(a, *away, "leave_within").value_or(15 * 60);
    a.reject_unknown_keys();
  }
  if (conditions != 1)
    in.fail_here("rule '" + rule.id + "': give exactly one of match, threshold, count, absence, away");
  if (const toml::table* schedule = in.optional_table("schedule")) rule.schedule = read_schedule(*schedule, file);
  if (const toml::table* by_value = in.optional_table("severity_by_value")) {
    for (const auto& [word, node] : *by_value) {
      auto level = node.value_exact<std::string>();
      auto s = level ? severity_from(*level) : std::nullopt;
      if (!s) in.fail_at(node, "severity_by_value", "expected info, low, medium or high");
      if (!rule.equals.contains(std::string(word.str())))
        in.fail_at(node, "severity_by_value", "'" + std::string(word.str()) + "' is not one of the rule's equals");
      rule.severity_by_value[std::string(word.str())] = *s;
    }
  }
  in.reject_unknown_keys();
  return rule;
}

// A ladder duration: whole seconds, because "0.5s" would silently become 0.
std::optional<std::chrono::seconds> read_ladder_time(TomlReader& in, const toml::table& table,
                                                     const std::string& name) {
  auto seconds = read_duration(in, table, name);
  if (!seconds) return std::nullopt;
  if (*seconds != std::floor(*seconds)) in.fail_at(*table.get(name), name, "ladder times are whole seconds");
  return std::chrono::seconds(static_cast<long long>(*seconds));
}

Ladder read_ladder(const toml::table& table, const std::string& file) {
  TomlReader in(table, file, "ladder");
  Ladder ladder;
  ladder.id = in.required_string("id");
  // repeat_every + repeat = "all" (the default) or "last"; repeat_last_every
  // is the older spelling of repeat_every with repeat = "last".
  auto every = read_ladder_time(in, table, "repeat_every");
  auto last_every = read_ladder_time(in, table, "repeat_last_every");
  if (every && last_every)
    in.fail_at(*table.get("repeat_last_every"), "repeat_last_every",
               "give repeat_every or repeat_last_every, not both");
  ladder.repeat_every = every.value_or(last_every.value_or(std::chrono::seconds(0)));
  std::string repeat = in.optional_string("repeat", last_every ? "last" : "all");
  if (repeat != "all" && repeat != "last") in.fail_at(*table.get("repeat"), "repeat", "expected \"all\" or \"last\"");
  if (last_every && repeat != "last")
    in.fail_at(*table.get("repeat"), "repeat", "repeat_last_every repeats the last step; use repeat_every");
  ladder.repeat_all = repeat == "all";
  ladder.realert_after = read_ladder_time(in, table, "realert_after").value_or(std::chrono::seconds(0));
  for (const toml::table* step_table : in.table_array("step")) {
    TomlReader s(*step_table, file, "ladder.step");
    Step step;
    step.target = s.required_string("target");
    if (!known_targets().contains(step.target)) {
      std::string list;
      for (const auto& t : known_targets()) list += (list.empty() ? "" : ", ") + t;
      s.fail_at(*step_table->get("target"), "target", "unknown target '" + step.target + "' (" + list + ")");
    }
    auto timeout = read_ladder_time(s, *step_table, "timeout");
    if (!timeout || timeout->count() <= 0) s.fail_here("ladder.step needs a positive timeout");
    step.timeout = *timeout;
    s.reject_unknown_keys();
    ladder.steps.push_back(step);
  }
  if (ladder.steps.empty()) in.fail_here("ladder '" + ladder.id + "' has no [[ladder.step]]");
  in.reject_unknown_keys();
  return ladder;
}

// Whether a rule reads the parameter: overriding any other would change what
// the rule means (an `above` on a `below` threshold would turn it round).
bool uses(const Rule& rule, const std::string& name) {
  switch (rule.type) {
    case ConditionType::kMatch:
      return name == "for_s";
    case ConditionType::kThreshold:
      if (name == "for_s") return true;
      return std::isnan(rule.parameters.above) ? name == "below" || name == "clear_above"
                                               : name == "above" || name == "clear_below";
    case ConditionType::kCount:
      return name == "at_least" || name == "within_s";
    case ConditionType::kAbsence:
      return name == "absent_for_s";
    case ConditionType::kAway:
      return name == "for_s" || name == "within_s";
  }
  return false;
}

std::string number(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

}  // namespace

const std::set<std::string>& known_targets() {
  static const std::set<std::string> targets = {"local_alarm", "nurse_station", "platform", "family", "operator"};
  return targets;
}

const std::set<std::string>& parameter_names() {
  static const std::set<std::string> names = {"above", "below",    "clear_below", "clear_above",
                                              "for_s", "at_least", "within_s",    "absent_for_s"};
  return names;
}

double& parameter(Parameters& p, const std::string& name) {
  if (name == "above") return p.above;
  if (name == "below") return p.below;
  if (name == "clear_below") return p.clear_below;
  if (name == "clear_above") return p.clear_above;
  if (name == "for_s") return p.for_s;
  if (name == "at_least") return p.at_least;
  if (name == "within_s") return p.within_s;
  return p.absent_for_s;
}

RuleSet parse_rules(std::string_view text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& error) {
    throw RuleError(position(name, error.source()) + ": " + std::string(error.description()));
  }
  TomlReader top(root, name, "");
  RuleSet set;
  std::string offset = top.optional_string("utc_offset", "+08:00");
  int oh = two_digits(offset, 1), om = two_digits(offset, 4);
  if (offset.size() != 6 || (offset[0] != '+' && offset[0] != '-') || offset[3] != ':' || oh < 0 || om < 0 || oh > 14 ||
      om > 59)
    top.fail_at(*root.get("utc_offset"), "utc_offset", "expected \"+HH:MM\" or \"-HH:MM\"");
  set.utc_offset = std::chrono::minutes((offset[0] == '-' ? -1 : 1) * (oh * 60 + om));

  for (const toml::table* table : top.table_array("ladder")) {
    Ladder ladder = read_ladder(*table, name);
    if (set.ladders.contains(ladder.id))
      throw RuleError(position(name, table->source()) + ": ladder '" + ladder.id + "' is defined twice");
    set.ladders.emplace(ladder.id, std::move(ladder));
  }
  std::set<std::string> ids;
  for (const toml::table* table : top.table_array("rule")) {
    Rule rule = read_rule(*table, name);
    if (!ids.insert(rule.id).second)
      throw RuleError(position(name, table->source()) + ": rule '" + rule.id + "' is defined twice");
    if (!rule.ladder.empty() && !set.ladders.contains(rule.ladder))
      throw RuleError(position(name, table->get("ladder")->source()) + ": rule.ladder: unknown ladder '" + rule.ladder +
                      "'");
    set.rules.push_back(std::move(rule));
  }
  top.reject_unknown_keys();
  return set;
}

RuleSet load_rules(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw RuleError(path + ": cannot open rule file");
  std::ostringstream text;
  text << stream.rdbuf();
  return parse_rules(text.str(), path);
}

void check_residents(const RuleSet& rules) {
  for (const auto& [id, resident] : rules.residents) {
    for (const auto& [key, value] : resident.overrides) {
      auto dot = key.rfind('.');
      std::string rule_id = key.substr(0, dot), param = dot == std::string::npos ? "" : key.substr(dot + 1);
      auto rule = std::find_if(rules.rules.begin(), rules.rules.end(), [&](const Rule& r) { return r.id == rule_id; });
      std::string where = "resident '" + id + "': override '" + key + "' ";
      if (dot == std::string::npos || rule == rules.rules.end() || !parameter_names().contains(param))
        throw RuleError(where +
                        "must be <rule id>.<above|below|clear_below|clear_above|for_s|at_least|within_s|absent_for_s>");
      if (!std::isfinite(value)) throw RuleError(where + "must be a finite number");
      if (value < 0) throw RuleError(where + "cannot be negative");
      if (!uses(*rule, param)) throw RuleError(where + "does not apply to rule '" + rule_id + "'");
      if (param == "at_least" && (value < 1 || value > 1000 || value != std::floor(value)))
        throw RuleError(where + "must be a whole number from 1 to 1000");
      if ((param == "within_s" || param == "absent_for_s") && value == 0) throw RuleError(where + "must be positive");
      if (param.ends_with("_s") && value > kLongestDuration) throw RuleError(where + "cannot be longer than 365 days");
    }
    // The rule's numbers with all of this resident's overrides, as the engine
    // will use them (parameters_for), must still be a working hysteresis.
    for (const Rule& rule : rules.rules) {
      Parameters p = rule.parameters;
      for (const auto& name : parameter_names())
        if (auto it = resident.overrides.find(rule.id + "." + name); it != resident.overrides.end())
          parameter(p, name) = it->second;
      // The rule file's own marks passed the loader: name the override that broke them.
      auto fail = [&](const std::string& mark, double clear, const std::string& limit, double value) {
        std::string key = rule.id + "." + (resident.overrides.contains(rule.id + "." + limit) ? limit : mark);
        throw RuleError("resident '" + id + "': override '" + key + "' overlaps the hysteresis of rule '" + rule.id +
                        "': " + mark + " " + number(clear) + " must be at or " +
                        (limit == "above" ? "below above " : "above below ") + number(value));
      };
      if (p.clear_below > p.above) fail("clear_below", p.clear_below, "above", p.above);
      if (p.clear_above < p.below) fail("clear_above", p.clear_above, "below", p.below);
    }
  }
}

}  // namespace eg::rules
