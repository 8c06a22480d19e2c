#include "operator_codes.hpp"

#include <map>

namespace eg::gateway {
namespace {

namespace v1 = eldercare::v1;

struct Default {
  int code;
  int zone;
};

// Rules of the default pack whose meaning is finer than their event kind.
const std::map<std::string, Default>& by_rule_id() {
  static const std::map<std::string, Default> table{
      {"fall", {101, 2}},                 // personal emergency, zone 002: fall detected
      {"fall-no-recovery", {102, 2}},     // fail to report in: no movement after the fall
      {"sos", {101, 1}},                  // personal emergency, zone 001: emergency button
      {"sos-repeated", {101, 1}},         //
      {"no-activity-daytime", {641, 1}},  // senior watch trouble, zone 001: no presence
      {"no-water", {641, 2}},             // senior watch trouble, zone 002: no water used
      {"gateway-mains-lost", {301, 0}},   // for installers who add mains sensing
      {"gateway-battery-low", {302, 0}},
      {"operator-link-down", {350, 0}},  // communication trouble (only reaches a backup path)
  };
  return table;
}

const std::map<v1::EventKind, Default>& by_kind() {
  static const std::map<v1::EventKind, Default> table{
      {v1::EVENT_KIND_FALL, {101, 2}},        {v1::EVENT_KIND_SOS_CALL, {101, 1}},
      {v1::EVENT_KIND_GAS, {151, 0}},         {v1::EVENT_KIND_SMOKE, {111, 0}},
      {v1::EVENT_KIND_WATER_LEAK, {154, 0}},  {v1::EVENT_KIND_PRESENCE, {641, 1}},
      {v1::EVENT_KIND_WATER_METER, {641, 2}}, {v1::EVENT_KIND_VITALS, {100, 0}},
      {v1::EVENT_KIND_DOOR, {140, 3}},        {v1::EVENT_KIND_BED, {140, 4}},
  };
  return table;
}

// device_health rules go by the condition words they match.
const std::map<std::string, Default>& by_health_word() {
  static const std::map<std::string, Default> table{
      {"offline", {381, 0}}, {"silent", {381, 0}},   {"left_network", {381, 0}},       {"battery_low", {384, 0}},
      {"tamper", {383, 0}},  {"disk_low", {300, 0}}, {"operator_link_down", {350, 0}},
  };
  return table;
}

OperatorCode make(Default d, std::string source) {
  OperatorCode code;
  code.code = d.code;
  code.zone = d.zone;
  code.sia = sia_code_for(d.code, false);
  code.sia_restore = sia_code_for(d.code, true);
  code.source = std::move(source);
  return code;
}

}  // namespace

std::string sia_code_for(int contact_id_code, bool restore) {
  static const std::map<int, std::pair<const char*, const char*>> table{
      {100, {"MA", "MH"}},  // medical
      {101, {"MA", "MH"}},  // personal emergency
      {102, {"MA", "MH"}},  // fail to report in (no movement after a fall)
      {110, {"FA", "FH"}},  // fire
      {111, {"FA", "FH"}},  // smoke
      {140, {"UA", "UR"}},  // general alarm
      {151, {"GA", "GH"}},  // gas
      {154, {"WA", "WH"}},  // water leakage
      {300, {"YP", "YQ"}},  // system trouble (power supply trouble / restore)
      {301, {"AT", "AR"}},  // AC loss
      {302, {"YT", "YR"}},  // system battery low
      {350, {"YC", "YK"}},  // communication fail / restore
      {381, {"XL", "XR"}},  // loss of supervision (RF)
      {383, {"TA", "TR"}},  // sensor tamper
      {384, {"XT", "XR"}},  // RF low battery
      {406, {"OC", "OC"}},  // cancel
      {602, {"RP", "RP"}},  // periodic test
      {641, {"UA", "UR"}},  // senior watch trouble: SIA has no own code
  };
  auto found = table.find(contact_id_code);
  if (found == table.end()) return restore ? "UR" : "UA";
  return restore ? found->second.second : found->second.first;
}

OperatorCode operator_code_for(const rules::Rule& rule, const std::vector<OperatorCodeConfig>& overrides) {
  for (const auto& entry : overrides) {
    if (entry.rule != rule.id) continue;
    OperatorCode code = make({entry.code, entry.zone}, "config");
    if (!entry.sia.empty()) code.sia = entry.sia;
    if (!entry.sia_restore.empty()) code.sia_restore = entry.sia_restore;
    return code;
  }
  if (auto found = by_rule_id().find(rule.id); found != by_rule_id().end())
    return make(found->second, "default rule " + rule.id);
  if (rule.watch.kind == v1::EVENT_KIND_DEVICE_HEALTH) {
    for (const auto& word : rule.equals)
      if (auto found = by_health_word().find(word); found != by_health_word().end())
        return make(found->second, "default condition " + word);
  } else if (auto found = by_kind().find(rule.watch.kind); found != by_kind().end()) {
    return make(found->second, "default kind " + v1::EventKind_Name(rule.watch.kind));
  }
  return make({140, 0}, "fallback (general alarm)");
}

}  // namespace eg::gateway
