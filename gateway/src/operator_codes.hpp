// Which Contact ID code and zone (and SIA DCS code) an alert goes to the
// emergency operator as. The defaults are documented, rule by rule, in
// docs/operators.md; [[operator.codes]] in the gateway config overrides them
// per rule id.
#pragma once

#include <string>
#include <vector>

#include "eg/gateway/config.hpp"
#include "eg/rules/rule_set.hpp"

namespace eg::gateway {

inline constexpr int kCidCancel = 406;        // alarm cancelled by the user / on site
inline constexpr int kCidPeriodicTest = 602;  // periodic test report

struct OperatorCode {
  int code = 140;  // Contact ID event code
  int zone = 0;
  std::string sia = "UA";  // SIA DCS alarm code
  std::string sia_restore = "UR";
  std::string source;  // "config", "default rule fall", "default kind gas", "fallback" (for the log)
};

OperatorCode operator_code_for(const rules::Rule& rule, const std::vector<OperatorCodeConfig>& overrides);

// SIA DCS codes for Contact ID codes we send (two letters each).
std::string sia_code_for(int contact_id_code, bool restore);

}  // namespace eg::gateway
