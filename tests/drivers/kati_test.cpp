#include <nlohmann/json.hpp>

#include "driver_harness.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;
using eg::test::DriverHarness;
using eg::test::utc_seconds;

namespace {

// Fixture payloads (sensor-payloads.json), verbatim. The sos, fallDown and AP55
// ones are the integrator spec's text with the location elided as {...}.
const std::string kVitalSign =
    R"({"IMEI":"865067123456789","heartRate":72,"bloodPressure":{"bp_sys":122,"bp_dia":74},"bodyTemperature":36.6,"spO2":97,"signalGSM":80,"battery":67,"location":{"GPS":{"latitude":22.5678,"longitude":112.3456},"WiFi":"[{...}]","LBS":{"MCC":"520","MNC":"3","LAC":"1815","CID":"79474300"}},"timeStamps":"16/06/2025 12:30:45"})";
const std::string kHeartbeat =
    R"({"IMEI":"865067123456789","signalGSM":80,"battery":67,"satellites":4,"workingMode":2,"timeStamps":"16/06/2025 12:30:45","step":999})";
const std::string kOnline = R"({"IMEI":"865067123456789","status":"online"})";
const std::string kSosAsSpecified = R"({"status": "SOS", "location": {...}, "IMEI": "865067123456789"})";
const std::string kFallAsSpecified = R"({"status": "FALL DOWN", "location": {...}, "IMEI": "865067123456789"})";
const std::string kAp55AsSpecified =
    R"({"IMEI": "865067123456789", "location": {...}, "timeStamps": "16/06/2025 12:30:45", "num_datas": 12, "data": [{"timestamp": 1738331256, "heartRate": 84, "bloodPressure": {"bp_sys": 119, "bp_dia": 73}, "spO2": 98, "bodyTemperature": 36.9}]})";

// The location object as the watch really sends it (iMEDE_watch/location).
const std::string kLocation =
    R"({"GPS":{"latitude":22.5678,"longitude":112.3456,"speed":0.0,"header":180.0},"WiFi":"[{'SSID':'WiFi1','MAC':'aa-bb-cc-dd-ee-ff','RSSI':'87'}]","LBS":{"MCC":"520","MNC":"3","LAC":"1815","CID":"79474300","SetBase":"[{...}]"}})";

// 12:30:45 on 16 June 2025 at +08:00.
const std::int64_t kFixtureTime = utc_seconds(2025, 6, 16, 4, 30, 45);

}  // namespace

TEST_CASE("kati VitalSign gives vitals with units and the battery, at local time converted to UTC", "[drivers][kati]") {
  DriverHarness kati("kati");
  CHECK(kati.driver->topic_filters() == std::vector<std::string>{"iMEDE_watch/#"});
  auto events = kati.events("iMEDE_watch/VitalSign", kVitalSign);
  REQUIRE(events.size() == 2);
  const auto& vitals = events[0];
  CHECK(vitals.kind() == v1::EVENT_KIND_VITALS);
  CHECK(vitals.device_id() == "865067123456789");
  CHECK(vitals.driver() == "kati");
  CHECK(vitals.source_topic() == "iMEDE_watch/VitalSign");
  CHECK(vitals.sensor_time().seconds() == kFixtureTime);
  CHECK(vitals.vitals().heart_rate_bpm() == 72);
  CHECK(vitals.vitals().systolic_mmhg() == 122);
  CHECK(vitals.vitals().diastolic_mmhg() == 74);
  CHECK(vitals.vitals().body_temperature_celsius() == Approx(36.6));
  CHECK(vitals.vitals().spo2_percent() == 97);
  CHECK_FALSE(vitals.vitals().has_breathing_rate_per_min());
  const auto& battery = events[1];
  CHECK(battery.kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(battery.device_id() == "865067123456789");
  CHECK(battery.device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_OK);
  CHECK(battery.device_health().battery_percent() == 67);
  CHECK(battery.sensor_time().seconds() == kFixtureTime);
}

TEST_CASE("kati local time follows the configured UTC offset", "[drivers][kati]") {
  DriverHarness kati("kati", {"iMEDE_watch", std::chrono::minutes(7 * 60)});  // Bangkok
  auto events = kati.events("iMEDE_watch/hb", kHeartbeat);
  REQUIRE(events.size() == 1);
  CHECK(events[0].sensor_time().seconds() == utc_seconds(2025, 6, 16, 5, 30, 45));
}

TEST_CASE("kati heartbeat battery is state: reported on low-mark crossings only", "[drivers][kati]") {
  DriverHarness kati("kati");
  auto first = kati.events("iMEDE_watch/hb", kHeartbeat);
  REQUIRE(first.size() == 1);
  CHECK(first[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_OK);
  CHECK(first[0].device_health().battery_percent() == 67);
  CHECK(kati.events("iMEDE_watch/hb", kHeartbeat).empty());
  CHECK(kati.events("iMEDE_watch/hb", R"({"IMEI":"865067123456789","battery":41})").empty());
  auto low = kati.events("iMEDE_watch/hb", R"({"IMEI":"865067123456789","battery":18})");
  REQUIRE(low.size() == 1);
  CHECK(low[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_LOW);
  CHECK(low[0].device_health().battery_percent() == 18);
  CHECK_FALSE(low[0].has_sensor_time());
}

TEST_CASE("kati vitals are state: an identical reading is not repeated, a changed one is", "[drivers][kati]") {
  DriverHarness kati("kati");
  CHECK(kati.events("iMEDE_watch/VitalSign", kVitalSign).size() == 2);
  CHECK(kati.events("iMEDE_watch/VitalSign", kVitalSign).empty());
  auto changed =
      kati.events("iMEDE_watch/VitalSign",
                  R"({"IMEI":"865067123456789","heartRate":88,"battery":66,"timeStamps":"16/06/2025 12:45:00"})");
  REQUIRE(changed.size() == 1);  // battery still OK
  CHECK(changed[0].vitals().heart_rate_bpm() == 88);
  CHECK_FALSE(changed[0].vitals().has_systolic_mmhg());
  CHECK(changed[0].sensor_time().seconds() == utc_seconds(2025, 6, 16, 4, 45, 0));
}

TEST_CASE("kati SOS and fall are events, reported every time", "[drivers][kati]") {
  DriverHarness kati("kati");
  const std::string sos = R"({"status":"SOS","location":)" + kLocation + R"(,"IMEI":"865067123456789"})";
  for (int press = 0; press < 2; ++press) {
    auto events = kati.events("iMEDE_watch/sos", sos);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind() == v1::EVENT_KIND_SOS_CALL);
    CHECK(events[0].device_id() == "865067123456789");
    CHECK(events[0].sos().active());
    CHECK(events[0].sos().vendor_action() == "SOS");
    CHECK_FALSE(events[0].has_sensor_time());
  }
  const std::string fall = R"({"status":"FALL DOWN","location":)" + kLocation + R"(,"IMEI":"865067123456789"})";
  for (int fallen = 0; fallen < 2; ++fallen) {
    auto events = kati.events("iMEDE_watch/fallDown", fall);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind() == v1::EVENT_KIND_FALL);
    CHECK(events[0].fall().state() == v1::FallPayload::STATE_DETECTED);
    CHECK(events[0].fall().vendor_state() == "FALL DOWN");
  }
}

TEST_CASE("kati spec texts with the location elided as {...} are not JSON", "[drivers][kati]") {
  DriverHarness kati("kati");
  CHECK(kati.code("iMEDE_watch/sos", kSosAsSpecified) == DecodeError::Code::kMalformed);
  CHECK(kati.code("iMEDE_watch/fallDown", kFallAsSpecified) == DecodeError::Code::kMalformed);
  CHECK(kati.code("iMEDE_watch/AP55", kAp55AsSpecified) == DecodeError::Code::kMalformed);
}

TEST_CASE("kati AP55 batch items carry their own epoch time", "[drivers][kati]") {
  DriverHarness kati("kati");
  std::string batch = kAp55AsSpecified;
  batch.replace(batch.find("{...}"), 5, kLocation);
  batch.replace(
      batch.find("]}"), 1,
      R"(, {"timestamp": 1738331856, "heartRate": 84, "bloodPressure": {"bp_sys": 119, "bp_dia": 73}, "spO2": 98, "bodyTemperature": 36.9}, {"timestamp": 1738332456, "heartRate": 90, "spO2": 97}])");
  auto events = kati.events("iMEDE_watch/AP55", batch);
  REQUIRE(events.size() == 2);  // the second item repeats the first
  CHECK(events[0].kind() == v1::EVENT_KIND_VITALS);
  CHECK(events[0].sensor_time().seconds() == 1'738'331'256);
  CHECK(events[0].vitals().heart_rate_bpm() == 84);
  CHECK(events[0].vitals().systolic_mmhg() == 119);
  CHECK(events[0].vitals().diastolic_mmhg() == 73);
  CHECK(events[0].vitals().spo2_percent() == 98);
  CHECK(events[0].vitals().body_temperature_celsius() == Approx(36.9));
  CHECK(events[1].sensor_time().seconds() == 1'738'332'456);
  CHECK(events[1].vitals().heart_rate_bpm() == 90);
  CHECK_FALSE(events[1].vitals().has_systolic_mmhg());
}

TEST_CASE("kati onlineTrigger is availability, location and sleep produce nothing", "[drivers][kati]") {
  DriverHarness kati("kati");
  auto online = kati.events("iMEDE_watch/onlineTrigger", kOnline);
  REQUIRE(online.size() == 1);
  CHECK(online[0].kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(online[0].device_id() == "865067123456789");
  CHECK(online[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  CHECK(kati.events("iMEDE_watch/onlineTrigger", kOnline).empty());
  auto offline = kati.events("iMEDE_watch/onlineTrigger", R"({"IMEI":"865067123456789","status":"offline"})");
  REQUIRE(offline.size() == 1);
  CHECK(offline[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_OFFLINE);
  CHECK(kati.events("iMEDE_watch/location", R"({"IMEI":"865067123456789","location":)" + kLocation + "}").empty());
  CHECK(
      kati.events(
              "iMEDE_watch/sleepdata",
              R"({"IMEI":"865067123456789","sleep":{"timeStamps":"16/06/2025 01:00:00","time":"2200@0700","data":"0001112","num":7}})")
          .empty());
}

TEST_CASE("kati IMEI sent as a number is the same device", "[drivers][kati]") {
  DriverHarness kati("kati");
  auto events = kati.events("iMEDE_watch/onlineTrigger", R"({"IMEI":865067123456789,"status":"online"})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].device_id() == "865067123456789");
}

TEST_CASE("kati bad payloads are typed errors with a reason and change no state", "[drivers][kati]") {
  DriverHarness kati("kati");
  using Code = DecodeError::Code;
  const std::string vitals = "iMEDE_watch/VitalSign";
  CHECK(kati.code(vitals, R"({"IMEI":"1","heartRate":900})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","heartRate":10})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","spO2":101})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","spO2":40})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","bloodPressure":{"bp_sys":320,"bp_dia":74}})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","bloodPressure":{"bp_sys":122,"bp_dia":10}})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","bloodPressure":{"bp_sys":74,"bp_dia":122}})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","bodyTemperature":52})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","battery":140})") == Code::kOutOfRange);
  CHECK(kati.code(vitals, R"({"IMEI":"1","heartRate":"fast"})") == Code::kWrongType);
  CHECK(kati.code(vitals, R"({"IMEI":"1","bloodPressure":"122/74"})") == Code::kWrongType);
  CHECK(kati.code(vitals, R"({"IMEI":"1","heartRate":72,"timeStamps":"2025-06-16 12:30:45"})") == Code::kWrongType);
  CHECK(kati.code(vitals, R"({"IMEI":"1","heartRate":72,"timeStamps":"31/02/2025 12:30:45"})") == Code::kWrongType);
  CHECK(kati.code(vitals, R"({"IMEI":["1"],"heartRate":72})") == Code::kWrongType);
  CHECK(kati.code(vitals, R"({"heartRate":72})") == Code::kMalformed);  // no IMEI
  {
    // A long non-ASCII value is cut for the reason on a character boundary:
    // the reason stays valid UTF-8, so logging it as JSON cannot throw.
    std::string stamp;
    for (int i = 0; i < 100; ++i) stamp += "\u00e9";  // é, two bytes in UTF-8
    auto error = kati.error(vitals, R"({"IMEI":"1","timeStamps":")" + stamp + R"("})");
    CHECK(error.code == Code::kWrongType);
    CHECK(error.reason.size() < 200);
    CHECK_NOTHROW(nlohmann::json(error.reason).dump());
  }
  CHECK(kati.code(vitals, R"("IMEI")") == Code::kWrongType);
  CHECK(kati.code("iMEDE_watch/AP55", R"({"IMEI":"1","data":{"heartRate":72}})") == Code::kWrongType);
  CHECK(kati.code("iMEDE_watch/AP55", R"({"IMEI":"1","data":[{"timestamp":"soon","heartRate":72}]})") ==
        Code::kWrongType);
  CHECK(kati.code("iMEDE_watch/AP55", R"({"IMEI":"1","data":[{"heartRate":72},{"heartRate":999}]})") ==
        Code::kOutOfRange);
  CHECK(kati.code("iMEDE_watch/onlineTrigger", R"({"IMEI":"1","status":"sleeping"})") == Code::kMalformed);
  CHECK(kati.code("iMEDE_watch/unknown", R"({"IMEI":"1"})") == Code::kUnsupported);
  eg::test::check_truncations_rejected(*kati.driver, vitals, kVitalSign);
  {
    DriverHarness other("kati");
    eg::test::check_corruptions_survive(*other.driver, vitals, kVitalSign);
    eg::test::check_corruptions_survive(*other.driver, "iMEDE_watch/hb", kHeartbeat);
    eg::test::check_corruptions_survive(*other.driver, "iMEDE_watch/onlineTrigger", kOnline);
    eg::test::check_corruptions_survive(*other.driver, "iMEDE_watch/AP55", kAp55AsSpecified);
    eg::test::check_corruptions_survive(*other.driver, "iMEDE_watch/sos", kSosAsSpecified);
  }
  // A message with one bad field is rejected whole: the good heart rate of the
  // rejected batch was not cached, so it is reported now.
  CHECK(kati.events("iMEDE_watch/VitalSign", R"({"IMEI":"1","heartRate":72})").size() == 1);
}
