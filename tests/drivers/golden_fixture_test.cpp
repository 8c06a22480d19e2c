// Every real payload in ../shared/fixtures/sensor-payloads.json, decoded in
// file order as one stream, against the expectation written for it by hand in
// tests/drivers/golden/*.jsonl (from the publishers' conventions, not from
// running the code). Each expected event is compared field by field with what
// the driver produced, leaving out only what the gateway or the clock sets.
#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "eg/simulator/decoder.hpp"

using nlohmann::json;

namespace {

json load_fixtures() {
  std::ifstream in(EG_FIXTURES_DIR "/sensor-payloads.json");
  REQUIRE(in.good());
  return json::parse(in);
}

// index -> expected line
std::map<int, json> load_expectations() {
  std::map<int, json> expected;
  for (const auto& entry : std::filesystem::directory_iterator(EG_SOURCE_DIR "/tests/drivers/golden")) {
    if (entry.path().extension() != ".jsonl") continue;
    std::ifstream in(entry.path());
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      INFO(entry.path().filename().string() << ":" << number);
      json doc = json::parse(line);
      int index = doc.at("index").get<int>();
      REQUIRE(expected.count(index) == 0);  // one expectation per fixture entry
      expected[index] = std::move(doc);
    }
  }
  return expected;
}

json comparable(json event) {
  for (const char* set_elsewhere : {"received_time", "driver", "source_topic", "retained", "id", "sequence",
                                    "gateway_id", "resident_id", "room", "bed"})
    event.erase(set_elsewhere);
  return event;
}

}  // namespace

TEST_CASE("every fixture payload decodes to its hand-written expectation, field by field", "[drivers][golden]") {
  json fixtures = load_fixtures();
  auto expected = load_expectations();
  eg::simulator::StreamDecoder decoder;
  const eg::WallTime received{std::chrono::seconds(1'767'225'600)};

  std::vector<int> missing;
  for (int index = 0; index < static_cast<int>(fixtures.size()); ++index) {
    const json& fixture = fixtures[static_cast<std::size_t>(index)];
    const json& payload = fixture.at("payload");
    std::string bytes = payload.is_string() ? payload.get<std::string>() : payload.dump();
    auto answer = decoder.decode(fixture.at("publisher").get<std::string>(), fixture.at("topic").get<std::string>(),
                                 bytes, received);
    auto it = expected.find(index);
    if (it == expected.end()) {
      missing.push_back(index);
      continue;
    }
    const json& want = it->second;
    INFO("fixture " << index << " " << fixture.at("publisher") << " " << fixture.at("topic") << " "
                    << bytes.substr(0, 200));
    if (want.contains("error")) {
      INFO("got " << answer.events.size() << " events instead of an error");
      REQUIRE(answer.error.has_value());
      CHECK(std::string(eg::drivers::to_string(answer.error->code)) == want["error"].get<std::string>());
      continue;
    }
    INFO("error: " << (answer.error ? answer.error->reason : std::string("none")));
    REQUIRE_FALSE(answer.error.has_value());
    const json& want_events = want.at("events");
    REQUIRE(answer.events.size() == want_events.size());
    for (std::size_t i = 0; i < answer.events.size(); ++i) {
      std::string text;
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      REQUIRE(google::protobuf::util::MessageToJsonString(answer.events[i], &text, options).ok());
      json got = comparable(json::parse(text));
      json wanted = comparable(want_events[i]);
      for (auto& [field, value] : wanted.items()) {
        INFO("event " << i << " field " << field);
        CHECK(got.value(field, json()) == value);
      }
      for (auto& [field, value] : got.items()) {
        INFO("event " << i << " has unexpected field " << field << " = " << value.dump());
        CHECK(wanted.contains(field));
      }
    }
  }
  INFO("fixture entries without an expectation: " << json(missing).dump());
  CHECK(missing.empty());
}
