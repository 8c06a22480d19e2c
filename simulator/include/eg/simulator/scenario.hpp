// A scenario: timed MQTT messages, as sensors would publish them. The file is
// JSON lines, one message each:
//   {"at": 2.5, "topic": "zigbee2mqtt/room301_radar", "payload": {"fall_down_status": "fall"}}
// "at" is seconds from the start; "payload" is a JSON value (sent as compact
// JSON) or a string (sent as its exact text); "retain" is optional. Blank lines
// and lines starting with '#' are comments.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace eg::simulator {

struct ScenarioStep {
  double at_s = 0;
  std::string topic;
  std::string payload;
  bool retain = false;
};

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws ScenarioError "file:line: reason". Steps come back sorted by time
// (stable, so equal times keep file order).
std::vector<ScenarioStep> load_scenario(const std::string& path);
std::vector<ScenarioStep> parse_scenario(const std::string& text, const std::string& name);

}  // namespace eg::simulator
