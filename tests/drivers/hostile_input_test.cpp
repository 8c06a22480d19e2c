// Issue 13 #7: every real fixture payload, mutated the ways a broken or
// hostile publisher would (bit flips, truncation, 1 MB bodies, bytes that are
// not UTF-8, JSON nested 100,000 deep), into the driver that reads it. Each
// answer is events or an error with a reason, never a crash or an exception,
// and the untouched payload decoded right after gets the same kind of answer
// as before: a bad message does not poison its driver for the next one.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "eg/drivers/registry.hpp"
#include "eg/drivers/router.hpp"
#include "eg/simulator/decoder.hpp"

using nlohmann::json;

namespace {

struct Fixture {
  std::string publisher, topic, payload;
};

std::vector<Fixture> load_fixtures() {
  std::ifstream in(EG_FIXTURES_DIR "/sensor-payloads.json");
  REQUIRE(in.good());
  std::vector<Fixture> out;
  for (const auto& entry : json::parse(in)) {
    const json& payload = entry.at("payload");
    out.push_back({entry.at("publisher").get<std::string>(), entry.at("topic").get<std::string>(),
                   payload.is_string() ? payload.get<std::string>() : payload.dump()});
  }
  return out;
}

// A native SensorEvent, so the protobuf driver gets mutated too.
Fixture native_fixture() {
  eldercare::v1::SensorEvent event;
  event.set_device_id("bed7-radar");
  event.set_kind(eldercare::v1::EVENT_KIND_VITALS);
  event.mutable_vitals()->set_heart_rate_bpm(64);
  event.mutable_vitals()->set_spo2_percent(97);
  event.mutable_sensor_time()->set_seconds(90);
  return {"native", "eldercare/native/bed7", event.SerializeAsString()};
}

std::vector<std::string> mutations(const std::string& payload, std::mt19937& random) {
  std::vector<std::string> out;
  for (int flip = 0; flip < 24 && !payload.empty(); ++flip) {
    std::string mutated = payload;
    mutated[random() % mutated.size()] ^= static_cast<char>(1u << (random() % 8));
    out.push_back(std::move(mutated));
  }
  for (std::size_t cut = 0; cut < 8; ++cut) out.push_back(payload.substr(0, payload.size() * cut / 8));
  // Not UTF-8 (a lone byte, an overlong '/', a surrogate, a cut sequence),
  // and a NUL, put inside a string value where there is one.
  using namespace std::string_literals;
  for (const std::string& bad : {"\xff"s, "\xc0\xaf"s, "\xed\xa0\x80"s, "\xe5\xae"s, "\0"s}) {
    std::string mutated = payload;
    auto quote = mutated.find('"', mutated.size() / 2);
    mutated.insert(quote == std::string::npos ? mutated.size() / 2 : quote + 1, bad);
    out.push_back(std::move(mutated));
  }
  // 1 MB: a huge string value where the payload is JSON, and plain padding.
  if (payload.starts_with("{")) out.push_back("{\"pad\":\"" + std::string(1 << 20, 'x') + "\"," + payload.substr(1));
  out.push_back(payload + std::string(1 << 20, ' '));
  out.push_back(std::string(100'000, '[') + std::string(100'000, ']'));
  std::string nested;
  for (int i = 0; i < 50'000; ++i) nested += "{\"a\":";
  nested += "1" + std::string(50'000, '}');
  out.push_back(std::move(nested));
  out.push_back(std::string(1 << 20, '\0'));
  return out;
}

bool answer_is_sound(const eg::simulator::DecodeAnswer& answer) {
  if (answer.error) return !answer.error->reason.empty();
  for (const auto& event : answer.events)
    if (event.device_id().empty() || event.kind() == eldercare::v1::EVENT_KIND_UNSPECIFIED) return false;
  return true;
}

}  // namespace

TEST_CASE("mutated fixtures into every driver: an answer with a reason, never a crash or a poisoned driver",
          "[drivers][hostile]") {
  auto fixtures = load_fixtures();
  fixtures.push_back(native_fixture());
  std::mt19937 random(20261205);  // fixed: a failure repeats
  const eg::WallTime received{std::chrono::seconds(1'767'225'600)};
  std::size_t decoded = 0, refused = 0;
  for (const auto& fixture : fixtures) {
    eg::simulator::StreamDecoder reference, decoder;
    const bool fixture_ok = !reference.decode(fixture.publisher, fixture.topic, fixture.payload, received).error;
    for (const auto& hostile : mutations(fixture.payload, random)) {
      INFO(fixture.publisher << " " << fixture.topic << " mutated to " << hostile.size()
                             << " bytes: " << hostile.substr(0, 120));
      eg::simulator::DecodeAnswer answer;
      REQUIRE_NOTHROW(answer = decoder.decode(fixture.publisher, fixture.topic, hostile, received));
      CHECK(answer_is_sound(answer));
      ++(answer.error ? refused : decoded);
      eg::simulator::DecodeAnswer after;
      REQUIRE_NOTHROW(after = decoder.decode(fixture.publisher, fixture.topic, fixture.payload, received));
      CHECK(after.error.has_value() == !fixture_ok);
    }
  }
  // Most mutations are refused; some bit flips only change a value.
  CHECK(refused > decoded);
  CHECK(decoded > 0);
}

TEST_CASE("a 1 MB body is refused by the router before any driver parses it", "[drivers][hostile]") {
  eg::drivers::Router router;
  for (const auto& info : eg::drivers::known_drivers()) {
    auto& driver = router.own(eg::drivers::make_driver(info.name));
    for (auto& filter : driver.topic_filters()) router.add_route(std::move(filter), driver);
  }
  for (const auto& fixture : load_fixtures()) {
    std::string huge = fixture.payload + std::string(1 << 20, ' ');
    auto result = router.decode({fixture.topic, huge, {}, false});
    INFO(fixture.topic);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == eg::drivers::DecodeError::Code::kTooLarge);
  }
}
