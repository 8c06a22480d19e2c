// Replays a simulator scenario through the gateway's own decision path in
// virtual time: the configured drivers, liveness and silence watch, the
// registry, and the rule engine with the configured rule pack. No broker and
// no store: what is judged is what raises alerts, so a scenario of 26 hours
// runs in milliseconds. Used for the false-alarm scenarios and their twins.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/simulator/scenario.hpp"
#include "eldercare/v1/alert.pb.h"

namespace eg::test {

// A scenario step on this topic is staff at the console, not a sensor:
// {"resolve": "<rule id>"}, {"acknowledge": "<rule id>"},
// {"away": "<resident>", "until_s": <expected return, s from the start>},
// {"returned": "<resident>"}.
inline const std::string kStaffTopic = "@staff";

struct ReplayResult {
  std::vector<eldercare::v1::AlertTransition> transitions;
  std::vector<std::string> log;  // readable trace for failure messages

  // Rule ids of the alerts raised, in order (a re-alert counts again).
  std::vector<std::string> raised() const;
  bool raised(const std::string& rule) const;
};

class ScenarioReplay {
 public:
  // `config_toml`: a gateway configuration (drivers, devices, residents,
  // rules = path relative to the repository's config/ directory).
  explicit ScenarioReplay(const std::string& config_toml, WallTime start = default_start());
  ~ScenarioReplay();

  // Plays `steps` at their times, then lets time run on to `until_s`.
  ReplayResult run(const std::vector<simulator::ScenarioStep>& steps, double until_s);

  // 2026-12-07 09:00 in Shanghai (a Monday morning).
  static WallTime default_start();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eg::test
