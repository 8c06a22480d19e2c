#include <catch2/catch.hpp>

#include "eg/drivers/mapped_json.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;
using eg::drivers::MappedField;
using eg::drivers::MappedSpec;

namespace {

MappedSpec acme_bed_monitor() {
  MappedSpec spec;
  spec.name = "acme-bed";
  spec.filters = {"acme/+/vitals"};
  spec.device_topic_level = 1;
  spec.kind = v1::EVENT_KIND_VITALS;
  spec.fields = {MappedField{"heart_rate_bpm", "/data/hr", {}, 1, 0},
                 MappedField{"body_temperature_celsius", "/data/temp_f", {}, 5.0 / 9.0, -32 * 5.0 / 9.0}};
  return spec;
}

}  // namespace

TEST_CASE("mapped json reads fields by pointer, converts units and takes the device from the topic",
          "[drivers][mapped]") {
  auto driver = eg::drivers::make_mapped_json_driver(acme_bed_monitor());
  REQUIRE(driver.ok());
  auto result = driver.value()->decode({"acme/bed-12/vitals", R"({"data":{"hr":71,"temp_f":98.6}})", {}, false});
  REQUIRE(result.ok());
  REQUIRE(result.value().size() == 1);
  const auto& event = result.value()[0];
  CHECK(event.device_id() == "bed-12");
  CHECK(event.kind() == v1::EVENT_KIND_VITALS);
  CHECK(event.driver() == "acme-bed");
  CHECK(event.vitals().heart_rate_bpm() == 71);
  CHECK(event.vitals().body_temperature_celsius() == Approx(37.0));
  // The same state again is not news.
  auto again = driver.value()->decode({"acme/bed-12/vitals", R"({"data":{"hr":71,"temp_f":98.6}})", {}, false});
  CHECK(again.value().empty());
}

TEST_CASE("mapped json translates vendor values through the installer's map", "[drivers][mapped]") {
  MappedSpec spec;
  spec.name = "acme-door";
  spec.filters = {"acme/door"};
  spec.device_pointer = "/id";
  spec.kind = v1::EVENT_KIND_DOOR;
  spec.fields = {MappedField{"open", "/state", {{"OPENED", "true"}, {"SHUT", "false"}}, 1, 0}};
  auto driver = std::move(eg::drivers::make_mapped_json_driver(spec)).value();
  auto opened = driver->decode({"acme/door", R"({"id":"front","state":"OPENED"})", {}, false});
  REQUIRE(opened.ok());
  CHECK(opened.value().at(0).device_id() == "front");
  CHECK(opened.value().at(0).door().open());
  auto unknown = driver->decode({"acme/door", R"({"id":"front","state":"AJAR"})", {}, false});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == DecodeError::Code::kOutOfRange);
  auto no_id = driver->decode({"acme/door", R"({"state":"SHUT"})", {}, false});
  REQUIRE_FALSE(no_id.ok());
  CHECK(no_id.error().code == DecodeError::Code::kWrongType);
}

TEST_CASE("mapped json rejects bad payloads with a typed reason", "[drivers][mapped]") {
  auto driver = std::move(eg::drivers::make_mapped_json_driver(acme_bed_monitor())).value();
  auto code_of = [&](const std::string& payload) {
    auto result = driver->decode({"acme/bed-1/vitals", payload, {}, false});
    REQUIRE_FALSE(result.ok());
    CHECK_FALSE(result.error().reason.empty());
    return result.error().code;
  };
  CHECK(code_of("{\"data\":") == DecodeError::Code::kMalformed);
  CHECK(code_of(R"({"data":{"hr":"fast"}})") == DecodeError::Code::kWrongType);
  CHECK(code_of(R"({"data":{"hr":900}})") == DecodeError::Code::kOutOfRange);
}

TEST_CASE("a mapped spec that cannot work is refused with the reason", "[drivers][mapped]") {
  MappedSpec wrong_field = acme_bed_monitor();
  wrong_field.fields.push_back(MappedField{"open", "/door", {}, 1, 0});
  auto refused = eg::drivers::make_mapped_json_driver(wrong_field);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().reason.find("field 'open' does not belong to this kind") != std::string::npos);

  MappedSpec bad_pointer = acme_bed_monitor();
  bad_pointer.fields[0].pointer = "data/hr";  // missing the leading '/'
  CHECK_FALSE(eg::drivers::make_mapped_json_driver(bad_pointer).ok());

  MappedSpec no_fields = acme_bed_monitor();
  no_fields.fields.clear();
  CHECK_FALSE(eg::drivers::make_mapped_json_driver(no_fields).ok());
}

TEST_CASE("mapped json: an installer maps a gas detector's test and warm-up flags", "[drivers][mapped][self-test]") {
  MappedSpec spec;
  spec.name = "acme-gas";
  spec.filters = {"acme/gas"};
  spec.device_pointer = "/id";
  spec.kind = v1::EVENT_KIND_GAS;
  spec.fields = {MappedField{"alarm", "/alarm", {}, 1, 0}, MappedField{"self_test", "/testing", {}, 1, 0},
                 MappedField{"warming_up", "/phase", {{"WARMUP", "true"}, {"RUN", "false"}}, 1, 0}};
  auto driver = std::move(eg::drivers::make_mapped_json_driver(spec)).value();
  auto test = driver->decode({"acme/gas", R"({"id":"k1","alarm":true,"testing":true,"phase":"RUN"})", {}, false});
  REQUIRE(test.ok());
  CHECK(test.value().at(0).gas().alarm());
  CHECK(test.value().at(0).self_test());
  CHECK_FALSE(test.value().at(0).warming_up());
  auto warm = driver->decode({"acme/gas", R"({"id":"k2","alarm":true,"testing":false,"phase":"WARMUP"})", {}, false});
  REQUIRE(warm.ok());
  CHECK(warm.value().at(0).warming_up());
}
