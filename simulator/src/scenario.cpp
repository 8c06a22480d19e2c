#include "eg/simulator/scenario.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace eg::simulator {

std::vector<ScenarioStep> parse_scenario(const std::string& text, const std::string& name) {
  std::vector<ScenarioStep> steps;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto fail = [&](const std::string& reason) {
      throw ScenarioError(name + ":" + std::to_string(number) + ": " + reason);
    };
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) fail("expected a JSON object");
    ScenarioStep step;
    if (!doc.contains("at") || !doc["at"].is_number() || doc["at"].get<double>() < 0)
      fail("\"at\" must be a number of seconds >= 0");
    step.at_s = doc["at"].get<double>();
    if (!doc.contains("topic") || !doc["topic"].is_string() || doc["topic"].get<std::string>().empty())
      fail("\"topic\" must be a non-empty string");
    step.topic = doc["topic"].get<std::string>();
    if (!doc.contains("payload")) fail("\"payload\" is missing");
    const auto& payload = doc["payload"];
    step.payload = payload.is_string() ? payload.get<std::string>() : payload.dump();
    if (doc.contains("retain")) {
      if (!doc["retain"].is_boolean()) fail("\"retain\" must be true or false");
      step.retain = doc["retain"].get<bool>();
    }
    steps.push_back(std::move(step));
  }
  std::stable_sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.at_s < b.at_s; });
  return steps;
}

std::vector<ScenarioStep> load_scenario(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw ScenarioError(path + ": cannot open scenario file");
  std::ostringstream text;
  text << stream.rdbuf();
  return parse_scenario(text.str(), path);
}

}  // namespace eg::simulator
