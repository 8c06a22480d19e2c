#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <string>

#include "eg/rules/rule_set.hpp"
#include "temp_dir.hpp"

namespace v1 = eldercare::v1;
using eg::rules::ConditionType;
using eg::rules::RuleError;
using eg::rules::RuleSet;

namespace {

// One string per line, so the line numbers in expected messages are easy to count.
std::string lines(std::initializer_list<std::string_view> rows) {
  std::string text;
  for (auto row : rows) text.append(row).append("\n");
  return text;
}

// The loader's message for a bad file, or "" when the file is accepted.
std::string error_of(const std::string& text) {
  try {
    eg::rules::parse_rules(text, "rules.toml");
  } catch (const RuleError& error) {
    return error.what();
  }
  return "";
}

std::string resident_error(RuleSet set) {
  try {
    eg::rules::check_residents(set);
  } catch (const RuleError& error) {
    return error.what();
  }
  return "";
}

// Lines 1-3 of many bad files: a valid rule head, so the fault is what follows.
const std::initializer_list<std::string_view> kFallHead = {"[[rule]]", "id = \"fall\"", "kind = \"fall\""};

std::string fall_rule_with(std::initializer_list<std::string_view> tail) {
  std::string text = lines(kFallHead);
  return text + lines(tail);
}

const char* const kTwoStepLadder = R"(
[[ladder]]
id = "night"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "30s"
  [[ladder.step]]
  target = "nurse_station"
  timeout = "2m"
)";

}  // namespace

TEST_CASE("a rule file with every kind of condition, ladder and selector loads with its values", "[rules]") {
  RuleSet set = eg::rules::parse_rules(R"(utc_offset = "-03:30"

[[ladder]]
id = "night"
repeat_last_every = "5m"
  [[ladder.step]]
  target = "local_alarm"
  timeout = "30s"
  [[ladder.step]]
  target = "nurse_station"
  timeout = "2m"
  [[ladder.step]]
  target = "platform"
  timeout = "1h"
  [[ladder.step]]
  target = "family"
  timeout = "1d"
  [[ladder.step]]
  target = "operator"
  timeout_s = 45

[[ladder]]
id = "quiet"
repeat_last_every_s = 300
  [[ladder.step]]
  target = "nurse_station"
  timeout = "90s"

[[rule]]
id = "fall"
summary = "Fall"
severity = "high"
kind = "fall"
device = "radar-301"
resident = "ann"
room = "301"
requires = "dementia"
ladder = "night"
match = { field = "fall.state", equals = ["suspected", "detected"], for = "60s" }
severity_by_value = { suspected = "medium", detected = "high" }
schedule = { from = "22:00", to = "06:00", days = ["mon", "fri"] }

[[rule]]
id = "tachycardia"
kind = "vitals"
ladder = "quiet"
threshold = { field = "vitals.heart_rate_bpm", above = 120, clear_below = 110, for_s = 60 }

[[rule]]
id = "bradycardia"
severity = "low"
threshold = { field = "vitals.heart_rate_bpm", below = 45.5, clear_above = 50 }

[[rule]]
id = "sos_burst"
kind = "sos"
severity = "info"
count = { at_least = 2, within = "60s", field = "sos.active", equals = "true" }

[[rule]]
id = "no_motion"
kind = "presence"
auto_resolve = false
absence = { for = "12h" }
schedule = { from = "08:00", to = "24:00" }
)",
                                       "rules.toml");

  CHECK(set.utc_offset == std::chrono::minutes(-210));
  REQUIRE(set.ladders.size() == 2);
  const auto& night = set.ladders.at("night");
  CHECK(night.repeat_every == std::chrono::seconds(300));
  CHECK_FALSE(night.repeat_all);  // repeat_last_every: the last step only
  REQUIRE(night.steps.size() == 5);
  CHECK(night.steps[0].target == "local_alarm");
  CHECK(night.steps[0].timeout == std::chrono::seconds(30));
  CHECK(night.steps[1].target == "nurse_station");
  CHECK(night.steps[1].timeout == std::chrono::seconds(120));
  CHECK(night.steps[2].target == "platform");
  CHECK(night.steps[2].timeout == std::chrono::seconds(3600));
  CHECK(night.steps[3].target == "family");
  CHECK(night.steps[3].timeout == std::chrono::seconds(86400));
  CHECK(night.steps[4].target == "operator");
  CHECK(night.steps[4].timeout == std::chrono::seconds(45));
  CHECK(set.ladders.at("quiet").repeat_every == std::chrono::seconds(300));
  CHECK(set.ladders.at("quiet").steps.at(0).timeout == std::chrono::seconds(90));

  REQUIRE(set.rules.size() == 5);
  const auto& fall = set.rules[0];
  CHECK(fall.id == "fall");
  CHECK(fall.line == 29);
  CHECK(fall.summary == "Fall");
  CHECK(fall.severity == v1::SEVERITY_HIGH);
  CHECK(fall.watch.kind == v1::EVENT_KIND_FALL);
  CHECK(fall.watch.device == "radar-301");
  CHECK(fall.watch.resident == "ann");
  CHECK(fall.watch.room == "301");
  CHECK(fall.requires_flag == "dementia");
  CHECK(fall.ladder == "night");
  CHECK(fall.auto_resolve);
  CHECK(fall.type == ConditionType::kMatch);
  CHECK(fall.field == "fall.state");
  CHECK(fall.equals == std::set<std::string>{"suspected", "detected"});
  CHECK(fall.parameters.for_s == 60);
  CHECK(fall.severity_by_value ==
        std::map<std::string, v1::Severity>{{"suspected", v1::SEVERITY_MEDIUM}, {"detected", v1::SEVERITY_HIGH}});
  REQUIRE(fall.schedule);
  CHECK(fall.schedule->from_minute == 22 * 60);
  CHECK(fall.schedule->to_minute == 6 * 60);
  CHECK(fall.schedule->weekdays == std::set<int>{1, 5});

  const auto& tachy = set.rules[1];
  CHECK(tachy.type == ConditionType::kThreshold);
  CHECK(tachy.summary == "tachycardia");  // the id when no summary is given
  CHECK(tachy.severity == v1::SEVERITY_MEDIUM);
  CHECK(tachy.parameters.above == 120);
  CHECK(tachy.parameters.clear_below == 110);
  CHECK(std::isnan(tachy.parameters.below));
  CHECK(std::isnan(tachy.parameters.clear_above));
  CHECK(tachy.parameters.for_s == 60);
  CHECK_FALSE(tachy.schedule);

  const auto& brady = set.rules[2];
  CHECK(brady.severity == v1::SEVERITY_LOW);
  CHECK(brady.watch.kind == v1::EVENT_KIND_UNSPECIFIED);
  CHECK(brady.parameters.below == 45.5);
  CHECK(brady.parameters.clear_above == 50);
  CHECK(std::isnan(brady.parameters.above));
  CHECK(brady.parameters.for_s == 0);

  const auto& sos = set.rules[3];
  CHECK(sos.type == ConditionType::kCount);
  CHECK(sos.severity == v1::SEVERITY_INFO);
  CHECK(sos.field == "sos.active");
  CHECK(sos.equals == std::set<std::string>{"true"});
  CHECK(sos.parameters.at_least == 2);
  CHECK(sos.parameters.within_s == 60);
  CHECK_FALSE(sos.auto_resolve);  // a count has no cleared state

  const auto& quiet = set.rules[4];
  CHECK(quiet.type == ConditionType::kAbsence);
  CHECK(quiet.parameters.absent_for_s == 12 * 3600);
  CHECK_FALSE(quiet.auto_resolve);
  REQUIRE(quiet.schedule);
  CHECK(quiet.schedule->from_minute == 8 * 60);
  CHECK(quiet.schedule->to_minute == 24 * 60);
  CHECK(quiet.schedule->weekdays == std::set<int>{0, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("a rule file without utc_offset uses +08:00 and an empty file has no rules", "[rules]") {
  RuleSet set = eg::rules::parse_rules("", "empty.toml");
  CHECK(set.utc_offset == std::chrono::minutes(480));
  CHECK(set.rules.empty());
  CHECK(set.ladders.empty());
}

TEST_CASE("durations take s, m, h and d units, fractions, or whole seconds under a _s key", "[rules]") {
  auto absent_for = [](const std::string& value) {
    auto set = eg::rules::parse_rules("[[rule]]\nid = \"q\"\nabsence = { " + value + " }\n", "rules.toml");
    return set.rules.at(0).parameters.absent_for_s;
  };
  CHECK(absent_for("for = \"90s\"") == 90);
  CHECK(absent_for("for = \"2m\"") == 120);
  CHECK(absent_for("for = \"12h\"") == 12 * 3600);
  CHECK(absent_for("for = \"1d\"") == 86400);
  CHECK(absent_for("for = \"1.5m\"") == 90);
  CHECK(absent_for("for_s = 300") == 300);
}

TEST_CASE("an unknown key in a rule, a condition, a ladder, a step or at the top is an error at its line", "[rules]") {
  CHECK(error_of(fall_rule_with({"colour = \"red\"", "match = { field = \"fall.state\", equals = \"detected\" }"})) ==
        "rules.toml:4:1: unknown key rule.colour");
  CHECK(error_of(fall_rule_with({"[rule.match]", "field = \"fall.state\"", "equals = \"detected\"",
                                 "within = \"5s\""})) == "rules.toml:7:1: unknown key rule.match.within");
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\"", "retry = 3", "[[ladder.step]]", "target = \"family\"",
                        "timeout = \"1m\""})) == "rules.toml:3:1: unknown key ladder.retry");
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\"", "[[ladder.step]]", "target = \"family\"", "timeout = \"1m\"",
                        "channel = \"sms\""})) == "rules.toml:6:1: unknown key ladder.step.channel");
  CHECK(error_of(lines({"utc_ofset = \"+08:00\""})) == "rules.toml:1:1: unknown key utc_ofset");
}

TEST_CASE("a rule naming an unknown field, a field of another kind or a value the field never takes is rejected",
          "[rules]") {
  CHECK(error_of(fall_rule_with({"[rule.match]", "field = \"fall.status\"", "equals = \"detected\""})) ==
        "rules.toml:5:9: rule.match.field: unknown field 'fall.status'");
  CHECK(error_of(fall_rule_with({"[rule.match]", "field = \"door.open\"", "equals = \"true\""})) ==
        "rules.toml:5:9: rule.match.field: door.open does not belong to the rule's kind");
  CHECK(error_of(fall_rule_with({"[rule.match]", "field = \"fall.state\"", "equals = [\"detected\", \"fell\"]"})) ==
        "rules.toml:6:10: rule.match.equals: 'fell' is not a value of fall.state (none, suspected, detected)");
  CHECK(error_of(fall_rule_with({"[rule.match]", "field = \"fall.state\""})) ==
        "rules.toml:4:1: rule.match.equals: name the value(s) that raise, e.g. equals = \"true\"");
  CHECK(error_of(lines(
            {"[[rule]]", "id = \"hr\"", "[rule.match]", "field = \"vitals.heart_rate_bpm\"", "equals = \"true\""})) ==
        "rules.toml:4:9: rule.match.field: vitals.heart_rate_bpm is a number: use threshold");
  CHECK(error_of(lines({"[[rule]]", "id = \"hr\"", "[rule.threshold]", "field = \"fall.state\"", "above = 1"})) ==
        "rules.toml:4:9: rule.threshold.field: fall.state is not a number");
  CHECK(error_of(lines({"[[rule]]", "id = \"x\"", "kind = \"earthquake\"", "absence = { for = \"1h\" }"})) ==
        "rules.toml:3:8: rule.kind: unknown kind 'earthquake'");
  CHECK(error_of(lines({"[[rule]]", "id = \"x\"", "severity = \"critical\"", "absence = { for = \"1h\" }"})) ==
        "rules.toml:3:12: rule.severity: expected info, low, medium or high");
  CHECK(error_of(fall_rule_with({"match = { field = \"fall.state\", equals = \"detected\" }",
                                 "severity_by_value = { suspected = \"high\" }"})) ==
        "rules.toml:5:35: rule.severity_by_value: 'suspected' is not one of the rule's equals");
  CHECK(error_of(fall_rule_with({"match = { field = \"fall.state\", equals = \"detected\" }",
                                 "severity_by_value = { detected = \"urgent\" }"})) ==
        "rules.toml:5:34: rule.severity_by_value: expected info, low, medium or high");
}

TEST_CASE("a duration with a wrong unit, no number, a negative value or both spellings is rejected", "[rules]") {
  auto with_for = [](std::string_view line) {
    return error_of(fall_rule_with({"[rule.match]", "field = \"fall.state\"", "equals = \"detected\"", line}));
  };
  CHECK(with_for("for = \"60 mins\"") ==
        "rules.toml:7:7: rule.match.for: unknown unit ' mins' in \"60 mins\" (use s, m, h or d)");
  CHECK(with_for("for = \"60\"") == "rules.toml:7:7: rule.match.for: unknown unit '' in \"60\" (use s, m, h or d)");
  CHECK(with_for("for = \"soon\"") ==
        "rules.toml:7:7: rule.match.for: expected a duration like \"90s\", \"2m\", \"12h\" or \"1d\"");
  CHECK(with_for("for = \"-5s\"") == "rules.toml:7:7: rule.match.for: a duration cannot be negative");
  CHECK(with_for("for_s = -5") == "rules.toml:7:9: rule.match.for_s: a duration cannot be negative");
  CHECK(with_for("for = 60") == "rules.toml:7:7: rule.match.for: expected a string");
  CHECK(error_of(fall_rule_with({"[rule.match]", "field = \"fall.state\"", "equals = \"detected\"", "for = \"1m\"",
                                 "for_s = 60"})) == "rules.toml:7:7: rule.match.for: give for or for_s, not both");
}

TEST_CASE("a duration that is not a finite number or longer than a year is rejected", "[rules]") {
  auto with_for = [](std::string_view line) {
    return error_of(fall_rule_with({"[rule.match]", "field = \"fall.state\"", "equals = \"detected\"", line}));
  };
  CHECK(with_for("for = \"nans\"") ==
        "rules.toml:7:7: rule.match.for: expected a duration like \"90s\", \"2m\", \"12h\" or \"1d\"");
  CHECK(with_for("for = \"infs\"") ==
        "rules.toml:7:7: rule.match.for: expected a duration like \"90s\", \"2m\", \"12h\" or \"1d\"");
  CHECK(with_for("for = \"400d\"") == "rules.toml:7:7: rule.match.for: a duration cannot be longer than 365 days");
  CHECK(with_for("for_s = 9223372036854775807") ==
        "rules.toml:7:9: rule.match.for_s: a duration cannot be longer than 365 days");
  CHECK(with_for("for = \"365d\"").empty());
}

TEST_CASE("a ladder with an unknown target, no steps, a step without timeout or under a second is rejected",
          "[rules]") {
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\"", "[[ladder.step]]", "target = \"pager\"", "timeout = \"1m\""})) ==
        "rules.toml:4:10: ladder.step.target: unknown target 'pager' (family, local_alarm, nurse_station, "
        "operator, platform)");
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\""})) == "rules.toml:1:1: ladder 'l' has no [[ladder.step]]");
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\"", "[[ladder.step]]", "target = \"family\""})) ==
        "rules.toml:3:1: ladder.step needs a positive timeout");
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\"", "[[ladder.step]]", "target = \"family\"", "timeout = \"0s\""})) ==
        "rules.toml:3:1: ladder.step needs a positive timeout");
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\"", "[[ladder.step]]", "target = \"family\"", "timeout = \"0.5s\""})) ==
        "rules.toml:5:11: ladder.step.timeout: ladder times are whole seconds");
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\"", "repeat_last_every = \"90.5s\"", "[[ladder.step]]",
                        "target = \"family\"", "timeout = \"1m\""})) ==
        "rules.toml:3:21: ladder.repeat_last_every: ladder times are whole seconds");
  CHECK(error_of(lines({"[[ladder]]", "id = \"l\"", "repeat_last_every = \"-1m\"", "[[ladder.step]]",
                        "target = \"family\"", "timeout = \"1m\""})) ==
        "rules.toml:3:21: ladder.repeat_last_every: a duration cannot be negative");
}

TEST_CASE("a rule naming a ladder the file does not define is rejected at its ladder key", "[rules]") {
  CHECK(error_of(std::string(kTwoStepLadder) +
                 fall_rule_with({"ladder = \"day\"", "match = { field = \"fall.state\", equals = \"detected\" }"})) ==
        "rules.toml:13:10: rule.ladder: unknown ladder 'day'");
  // A ladder defined after the rule that uses it is fine.
  CHECK(error_of(fall_rule_with({"ladder = \"night\"", "match = { field = \"fall.state\", equals = \"detected\" }"}) +
                 kTwoStepLadder)
            .empty());
}

TEST_CASE("a threshold whose clear mark overlaps its raise mark is rejected", "[rules]") {
  auto threshold = [](std::string_view body) {
    return error_of(lines({"[[rule]]", "id = \"hr\"", "[rule.threshold]", "field = \"vitals.heart_rate_bpm\"", body}));
  };
  CHECK(threshold("above = 120\nclear_below = 121") ==
        "rules.toml:6:15: rule.threshold.clear_below: overlapping hysteresis: must be at or below above (120.000000)");
  CHECK(threshold("below = 45\nclear_above = 40") ==
        "rules.toml:6:15: rule.threshold.clear_above: overlapping hysteresis: must be at or above below (45.000000)");
  CHECK(threshold("above = 120\nclear_above = 130") ==
        "rules.toml:6:15: rule.threshold.clear_above: goes with below, not above");
  CHECK(threshold("below = 45\nclear_below = 40") ==
        "rules.toml:6:15: rule.threshold.clear_below: goes with above, not below");
  CHECK(threshold("above = 120\nbelow = 45") == "rules.toml:3:1: rule.threshold: give exactly one of above or below");
  CHECK(threshold("clear_below = 110") == "rules.toml:3:1: rule.threshold: give exactly one of above or below");
  CHECK(threshold("above = \"high\"") == "rules.toml:5:9: rule.threshold.above: expected a number");
  // A clear mark equal to the raise mark is no hysteresis, but no overlap either.
  CHECK(threshold("above = 120\nclear_below = 120").empty());
}

TEST_CASE("a rule with two conditions or none is rejected at the rule", "[rules]") {
  CHECK(error_of(fall_rule_with(
            {"match = { field = \"fall.state\", equals = \"detected\" }", "absence = { for = \"1h\" }"})) ==
        "rules.toml:1:1: rule 'fall': give exactly one of match, threshold, count, absence, away");
  CHECK(error_of(fall_rule_with({})) ==
        "rules.toml:1:1: rule 'fall': give exactly one of match, threshold, count, absence, away");
}

TEST_CASE("a count needs at_least and a positive window, and an absence a positive silence", "[rules]") {
  auto rule = [](std::string_view condition) {
    return error_of(lines({"[[rule]]", "id = \"c\"", "kind = \"door\"", condition}));
  };
  CHECK(rule("count = { within = \"1m\" }") == "rules.toml:4:9: rule.count needs at_least");
  CHECK(rule("count = { at_least = 0, within = \"1m\" }") ==
        "rules.toml:4:22: rule.count.at_least: expected an integer 1-1000");
  CHECK(rule("count = { at_least = 2 }") == "rules.toml:4:9: rule.count needs a positive within");
  CHECK(rule("count = { at_least = 2, within = \"0s\" }") == "rules.toml:4:9: rule.count needs a positive within");
  CHECK(rule("count = { at_least = 2, within = \"1m\", field = \"door.open\" }") ==
        "rules.toml:4:9: rule.count.equals: name the value(s) that raise, e.g. equals = \"true\"");
  CHECK(rule("count = { at_least = 2, within = \"1m\", equals = \"true\" }") ==
        "rules.toml:4:40: unknown key rule.count.equals");
  CHECK(rule("absence = { for = \"0s\" }") == "rules.toml:4:11: rule.absence needs a positive for");
  CHECK(rule("absence = {}") == "rules.toml:4:11: rule.absence needs a positive for");
}

TEST_CASE("duplicate rule and ladder ids are rejected at the second definition", "[rules]") {
  std::string rule = fall_rule_with({"match = { field = \"fall.state\", equals = \"detected\" }"});
  CHECK(error_of(rule + rule) == "rules.toml:5:1: rule 'fall' is defined twice");
  std::string ladder =
      lines({"[[ladder]]", "id = \"l\"", "[[ladder.step]]", "target = \"family\"", "timeout = \"1m\""});
  CHECK(error_of(ladder + ladder) == "rules.toml:6:1: ladder 'l' is defined twice");
}

TEST_CASE("a schedule needs HH:MM times, a non-empty window and known days", "[rules]") {
  auto schedule = [](std::string_view line) {
    return error_of(fall_rule_with({"match = { field = \"fall.state\", equals = \"detected\" }", line}));
  };
  CHECK(schedule("schedule = { from = \"22:00\", to = \"06:00\", days = [\"fri\", \"sat\", \"sun\"] }").empty());
  CHECK(schedule("schedule = { from = \"22:00\" }") == "rules.toml:5:12: rule.schedule needs from and to");
  CHECK(schedule("schedule = { from = \"22:00\", to = \"6:00\" }") ==
        "rules.toml:5:35: rule.schedule.to: expected a local time \"HH:MM\"");
  CHECK(schedule("schedule = { from = \"25:00\", to = \"06:00\" }") ==
        "rules.toml:5:21: rule.schedule.from: expected a local time \"HH:MM\"");
  CHECK(schedule("schedule = { from = \"22:60\", to = \"06:00\" }") ==
        "rules.toml:5:21: rule.schedule.from: expected a local time \"HH:MM\"");
  CHECK(schedule("schedule = { from = \" 1:00\", to = \"06:00\" }") ==
        "rules.toml:5:21: rule.schedule.from: expected a local time \"HH:MM\"");
  CHECK(schedule("schedule = { from = \"24:00\", to = \"06:00\" }") ==
        "rules.toml:5:21: rule.schedule.from: expected a local time \"HH:MM\"");
  CHECK(schedule("schedule = { from = \"08:00\", to = \"24:00\" }").empty());
  CHECK(schedule("schedule = { from = \"08:00\", to = \"08:00\" }") ==
        "rules.toml:5:35: rule.schedule.to: an empty time window");
  CHECK(schedule("schedule = { from = \"22:00\", to = \"06:00\", days = [\"friday\"] }") ==
        "rules.toml:5:51: rule.schedule.days: unknown day 'friday' (sun..sat)");
  CHECK(schedule("schedule = { from = \"22:00\", to = \"06:00\", at = \"home\" }") ==
        "rules.toml:5:44: unknown key rule.schedule.at");
}

TEST_CASE("utc_offset must read +HH:MM or -HH:MM", "[rules]") {
  CHECK(eg::rules::parse_rules("utc_offset = \"+05:45\"", "r").utc_offset == std::chrono::minutes(345));
  CHECK(eg::rules::parse_rules("utc_offset = \"-10:00\"", "r").utc_offset == std::chrono::minutes(-600));
  CHECK(error_of("utc_offset = \"08:00\"") == "rules.toml:1:14: utc_offset: expected \"+HH:MM\" or \"-HH:MM\"");
  CHECK(error_of("utc_offset = \"+8:00\"") == "rules.toml:1:14: utc_offset: expected \"+HH:MM\" or \"-HH:MM\"");
  CHECK(error_of("utc_offset = \"+-1:00\"") == "rules.toml:1:14: utc_offset: expected \"+HH:MM\" or \"-HH:MM\"");
  CHECK(error_of("utc_offset = \"+15:00\"") == "rules.toml:1:14: utc_offset: expected \"+HH:MM\" or \"-HH:MM\"");
}

TEST_CASE("a TOML syntax error carries the file, line and column", "[rules]") {
  std::string message = error_of(lines({"[[rule]]", "id = \"fall"}));
  CHECK(message.rfind("rules.toml:2:", 0) == 0);
}

TEST_CASE("load_rules reads a file and names it in errors", "[rules]") {
  eg::test::TempDir dir;
  std::string path = dir.file("site.toml");
  {
    std::ofstream out(path);
    out << lines(
        {"[[rule]]", "id = \"sos\"", "kind = \"sos\"", "match = { field = \"sos.active\", equals = \"true\" }"});
  }
  RuleSet set = eg::rules::load_rules(path);
  REQUIRE(set.rules.size() == 1);
  CHECK(set.rules[0].watch.kind == v1::EVENT_KIND_SOS_CALL);
  {
    std::ofstream out(path);
    out << lines(
        {"[[rule]]", "id = \"sos\"", "kind = \"sos\"", "match = { field = \"sos.active\", equals = \"yes\" }"});
  }
  CHECK_THROWS_WITH(eg::rules::load_rules(path), path +
                                                     ":4:42: rule.match.equals: 'yes' is not a value of sos.active "
                                                     "(true, false)");
  CHECK_THROWS_WITH(eg::rules::load_rules(dir.file("missing.toml")),
                    dir.file("missing.toml") + ": cannot open rule file");
}

TEST_CASE("resident overrides must name a rule and a parameter that rule uses", "[rules]") {
  RuleSet set = eg::rules::parse_rules(R"(
[[rule]]
id = "hr.high"
threshold = { field = "vitals.heart_rate_bpm", above = 120, clear_below = 110 }
[[rule]]
id = "hr_low"
threshold = { field = "vitals.heart_rate_bpm", below = 45, clear_above = 50 }
[[rule]]
id = "sos"
count = { at_least = 2, within = "1m" }
[[rule]]
id = "quiet"
absence = { for = "12h" }
)",
                                       "rules.toml");
  auto with_all = [&](std::map<std::string, double> overrides) {
    RuleSet copy = set;
    copy.residents["ann"] = {"ann", {}, std::move(overrides)};
    return resident_error(copy);
  };
  auto with = [&](std::string key, double value) { return with_all({{std::move(key), value}}); };
  CHECK(with("hr.high.above", 130).empty());  // a rule id may itself hold a dot
  CHECK(with("hr.high.for_s", 30).empty());
  CHECK(with("hr_low.clear_above", 55).empty());
  CHECK(with("sos.at_least", 3).empty());
  CHECK(with("sos.within_s", 120).empty());
  CHECK(with("quiet.absent_for_s", 3600).empty());

  CHECK(with("fall.for_s", 30) ==
        "resident 'ann': override 'fall.for_s' must be "
        "<rule id>.<above|below|clear_below|clear_above|for_s|at_least|within_s|absent_for_s>");
  CHECK(with("sos.limit", 3) ==
        "resident 'ann': override 'sos.limit' must be "
        "<rule id>.<above|below|clear_below|clear_above|for_s|at_least|within_s|absent_for_s>");
  CHECK(with("at_least", 3) ==
        "resident 'ann': override 'at_least' must be "
        "<rule id>.<above|below|clear_below|clear_above|for_s|at_least|within_s|absent_for_s>");
  CHECK(with("sos.at_least", -1) == "resident 'ann': override 'sos.at_least' cannot be negative");

  // A parameter the rule does not use would change what the rule means.
  CHECK(with("hr_low.above", 130) == "resident 'ann': override 'hr_low.above' does not apply to rule 'hr_low'");
  CHECK(with("hr.high.below", 40) == "resident 'ann': override 'hr.high.below' does not apply to rule 'hr.high'");
  CHECK(with("quiet.for_s", 40) == "resident 'ann': override 'quiet.for_s' does not apply to rule 'quiet'");
  CHECK(with("sos.absent_for_s", 40) == "resident 'ann': override 'sos.absent_for_s' does not apply to rule 'sos'");

  // The rule's numbers with all of the resident's overrides must still be a hysteresis.
  CHECK(with("hr.high.clear_below", 125) ==
        "resident 'ann': override 'hr.high.clear_below' overlaps the hysteresis of rule 'hr.high': clear_below 125 "
        "must be at or below above 120");
  CHECK(with("hr.high.above", 100) ==
        "resident 'ann': override 'hr.high.above' overlaps the hysteresis of rule 'hr.high': clear_below 110 must "
        "be at or below above 100");
  CHECK(with_all({{"hr.high.above", 100}, {"hr.high.clear_below", 95}}).empty());
  CHECK(with("hr_low.below", 60.5) ==
        "resident 'ann': override 'hr_low.below' overlaps the hysteresis of rule 'hr_low': clear_above 50 must be "
        "at or above below 60.5");
  CHECK(with("hr_low.clear_above", 40) ==
        "resident 'ann': override 'hr_low.clear_above' overlaps the hysteresis of rule 'hr_low': clear_above 40 "
        "must be at or above below 45");
  CHECK(with_all({{"hr_low.below", 60}, {"hr_low.clear_above", 65}}).empty());
  CHECK(with("sos.at_least", 0) == "resident 'ann': override 'sos.at_least' must be a whole number from 1 to 1000");
  CHECK(with("sos.at_least", 2.5) == "resident 'ann': override 'sos.at_least' must be a whole number from 1 to 1000");
  CHECK(with("sos.within_s", 0) == "resident 'ann': override 'sos.within_s' must be positive");
  CHECK(with("quiet.absent_for_s", 0) == "resident 'ann': override 'quiet.absent_for_s' must be positive");
  CHECK(with("quiet.absent_for_s", 400 * 86400.0) ==
        "resident 'ann': override 'quiet.absent_for_s' cannot be longer than 365 days");
  CHECK(with("hr.high.above", NAN) == "resident 'ann': override 'hr.high.above' must be a finite number");
}

TEST_CASE("retrigger, realert_after and repeat take only the values they name, at their line", "[rules]") {
  const std::string match = "match = { field = \"fall.state\", equals = \"detected\" }";
  CHECK_THAT(error_of(fall_rule_with({match, "retrigger = \"sometimes\""})),
             Catch::StartsWith("rules.toml:5:") && Catch::Contains("expected rising_edge or each_event"));
  CHECK_THAT(error_of(fall_rule_with({match, "realert_after = \"-5m\""})),
             Catch::StartsWith("rules.toml:5:") && Catch::Contains("cannot be negative"));
  CHECK_THAT(error_of(fall_rule_with({match, "realert_after = \"1.5s\""})),
             Catch::StartsWith("rules.toml:5:") && Catch::Contains("whole seconds"));
  CHECK_THAT(error_of(fall_rule_with({match, "realert_after = 600"})), Catch::Contains("expected a string"));
  CHECK_THAT(error_of(lines({"[[ladder]]", "id = \"l\"", "realert_after = \"soon\"", "[[ladder.step]]",
                             "target = \"family\"", "timeout = \"1m\""})),
             Catch::StartsWith("rules.toml:3:") && Catch::Contains("expected a duration"));
  CHECK_THAT(error_of(lines({"[[ladder]]", "id = \"l\"", "repeat_last_every = \"5m\"", "repeat = \"all\"",
                             "[[ladder.step]]", "target = \"family\"", "timeout = \"1m\""})),
             Catch::StartsWith("rules.toml:4:") && Catch::Contains("use repeat_every"));
}
