#include <catch2/catch.hpp>

#include "eg/simulator/scenario.hpp"

using eg::simulator::parse_scenario;
using eg::simulator::ScenarioError;

TEST_CASE("scenario lines become timed messages sorted by time", "[simulator]") {
  auto steps = parse_scenario(R"(# comment
{"at": 2, "topic": "z/b", "payload": {"gas": true}}

{"at": 0.5, "topic": "esphome/status", "payload": "online", "retain": true}
)",
                              "s.jsonl");
  REQUIRE(steps.size() == 2);
  CHECK(steps[0].topic == "esphome/status");
  CHECK(steps[0].payload == "online");
  CHECK(steps[0].retain);
  CHECK(steps[1].at_s == 2);
  CHECK(steps[1].payload == R"({"gas":true})");
}

TEST_CASE("a bad scenario line names file and line", "[simulator]") {
  CHECK_THROWS_WITH(parse_scenario("{\"at\": 1, \"topic\": \"a\", \"payload\": 1}\n{\"at\": -1}\n", "s.jsonl"),
                    "s.jsonl:2: \"at\" must be a number of seconds >= 0");
  CHECK_THROWS_WITH(parse_scenario("not json\n", "s.jsonl"), "s.jsonl:1: expected a JSON object");
  CHECK_THROWS_WITH(parse_scenario("{\"at\": 1, \"topic\": \"a\"}\n", "s.jsonl"), "s.jsonl:1: \"payload\" is missing");
}

TEST_CASE("the shipped demo scenario parses", "[simulator]") {
  CHECK(eg::simulator::load_scenario(EG_SOURCE_DIR "/simulator/scenarios/demo-room301.jsonl").size() >= 8);
}
