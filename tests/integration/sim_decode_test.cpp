// `eldercare-sim decode` as installers use it: the whole fixture file piped
// through the binary, one answer line per input line, in order, matching the
// library's own decoding of the same stream.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eg/simulator/decoder.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

using nlohmann::json;

TEST_CASE("eldercare-sim decode answers every fixture line, in order, as the library does", "[integration][sim]") {
  std::ifstream fixture_file(EG_FIXTURES_DIR "/sensor-payloads.json");
  REQUIRE(fixture_file.good());
  json fixtures = json::parse(fixture_file);
  eg::test::TempDir dir;
  std::vector<std::string> input_lines;
  {
    std::ofstream input(dir.file("input.jsonl"));
    for (const auto& f : fixtures) {
      json line{{"publisher", f.at("publisher")}, {"topic", f.at("topic")}, {"payload", f.at("payload")}};
      input_lines.push_back(line.dump());
      input << input_lines.back() << "\n";
    }
    input << "this is not json\n";  // an installer's typo: an error line, and the stream goes on
    input << R"({"topic":"zigbee2mqtt/late_sensor","payload":{"water_leak":true}})"
          << "\n";
  }
  auto result = eg::test::run_command(
      {"sh", "-c", std::string(EG_SIM) + " decode < " + dir.file("input.jsonl") + " > " + dir.file("output.jsonl")});
  REQUIRE(result.exit_code == 0);

  std::ifstream output(dir.file("output.jsonl"));
  std::vector<json> answers;
  for (std::string line; std::getline(output, line);) answers.push_back(json::parse(line));
  REQUIRE(answers.size() == fixtures.size() + 2);

  eg::simulator::StreamDecoder library;
  auto strip_times = [](json answer) {
    if (answer.contains("events"))
      for (auto& event : answer["events"]) event.erase("received_time");
    return answer;
  };
  for (std::size_t i = 0; i < fixtures.size(); ++i) {
    INFO("line " << i + 1 << ": " << input_lines[i].substr(0, 160));
    const json& answer = answers[i];
    CHECK((answer.contains("events") != answer.contains("error")));
    json expected = json::parse(library.decode_line(input_lines[i], eg::WallTime{}));
    CHECK(strip_times(answer) == strip_times(expected));
  }
  CHECK(answers[fixtures.size()].contains("error"));
  const json& late = answers[fixtures.size() + 1];
  REQUIRE(late.contains("events"));
  REQUIRE(late["events"].size() == 1);
  CHECK(late["events"][0]["kind"] == "EVENT_KIND_WATER_LEAK");
  CHECK(late["events"][0]["device_id"] == "late_sensor");
}
