// The alert -> Contact ID mapping the issue and docs/operators.md promise,
// checked on the default rule pack as shipped.
#include <catch2/catch.hpp>

#include "eg/rules/rule_set.hpp"
#include "operator_codes.hpp"

using namespace eg::gateway;

namespace {

const eg::rules::Rule& rule(const eg::rules::RuleSet& set, const std::string& id) {
  for (const auto& r : set.rules)
    if (r.id == id) return r;
  FAIL("no rule " << id);
  throw;
}

}  // namespace

TEST_CASE("operator codes: the default pack maps to the documented Contact ID codes and zones", "[gateway][dc09]") {
  auto set = eg::rules::load_rules(EG_SOURCE_DIR "/rules/eldercare-default.toml");
  struct Expected {
    const char* rule;
    int code;
    int zone;
    const char* sia;
    const char* sia_restore;
  };
  for (auto e : {Expected{"fall", 101, 2, "MA", "MH"}, Expected{"fall-no-recovery", 102, 2, "MA", "MH"},
                 Expected{"sos", 101, 1, "MA", "MH"}, Expected{"sos-repeated", 101, 1, "MA", "MH"},
                 Expected{"gas", 151, 0, "GA", "GH"}, Expected{"smoke", 111, 0, "FA", "FH"},
                 Expected{"water-leak", 154, 0, "WA", "WH"}, Expected{"no-activity-daytime", 641, 1, "UA", "UR"},
                 Expected{"no-water", 641, 2, "UA", "UR"}, Expected{"heart-rate-low", 100, 0, "MA", "MH"},
                 Expected{"device-offline", 381, 0, "XL", "XR"}, Expected{"low-battery", 384, 0, "XT", "XR"},
                 Expected{"tamper", 383, 0, "TA", "TR"}, Expected{"operator-link-down", 350, 0, "YC", "YK"}}) {
    INFO(e.rule);
    auto code = operator_code_for(rule(set, e.rule), {});
    CHECK(code.code == e.code);
    CHECK(code.zone == e.zone);
    CHECK(code.sia == e.sia);
    CHECK(code.sia_restore == e.sia_restore);
  }
  CHECK(sia_code_for(kCidCancel, false) == "OC");
  CHECK(sia_code_for(kCidPeriodicTest, false) == "RP");
  CHECK(sia_code_for(301, false) == "AT");
  CHECK(sia_code_for(302, false) == "YT");
}

TEST_CASE("operator codes: [[operator.codes]] overrides one rule, an unknown meaning is a general alarm",
          "[gateway][dc09]") {
  auto set = eg::rules::load_rules(EG_SOURCE_DIR "/rules/eldercare-default.toml");
  OperatorCodeConfig fall_override{"fall", 100, 9, "", ""};
  auto fall = operator_code_for(rule(set, "fall"), {fall_override});
  CHECK(fall.code == 100);
  CHECK(fall.zone == 9);
  CHECK(fall.sia == "MA");
  CHECK(fall.source == "config");
  CHECK(operator_code_for(rule(set, "gas"), {fall_override}).code == 151);  // others keep their default
  eg::rules::Rule odd;
  odd.id = "custom";
  odd.watch.kind = eldercare::v1::EVENT_KIND_UNSPECIFIED;
  auto general = operator_code_for(odd, {});
  CHECK(general.code == 140);
  CHECK(general.sia == "UA");
}
