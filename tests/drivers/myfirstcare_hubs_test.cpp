#include "driver_harness.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;
using eg::test::DriverHarness;

namespace {

// Fixture payloads (sensor-payloads.json), verbatim (personal data already redacted there).
const std::string kQubeBp =
    R"({"from":"PI","to":"CLOUD","time":1739360702,"mac":"e4:5f:01:ed:82:59","type":"reportAttribute","citiz":"<redacted>","nameTH":"<redacted>","nameEN":"<redacted>","brith":"<redacted>","gender":"1","data":{"attribute":"WBP_JUMPER","ble_mac":"FF:22:09:08:31:31","value":{"bp_high":120,"bp_low":78,"pr":71}}})";
const std::string kQubeOximeter =
    R"({"from":"PI","to":"CLOUD","time":1714819151,"mac":"e4:5f:01:ed:82:59","type":"reportAttribute","citiz":"<redacted>","nameTH":"<redacted>","nameEN":"<redacted>","brith":"<redacted>","gender":"1","data":{"attribute":"Oximeter_JUMPER","ble_mac":"40:2E:71:4A:38:84","value":{"pulse":70,"spo2":97,"pi":70}}})";
const std::string kAva4Bp =
    R"({"from":"BLE","to":"CLOUD","time":1836942771,"deviceCode":"08:F9:E0:D1:F7:B4","mac":"08:F9:E0:D1:F7:B4","type":"reportAttribute","device":"WBP BIOLIGHT","data":{"attribute":"BP_BIOLIGTH","mac":"08:F9:E0:D1:F7:B4","value":{"device_list":[{"scan_time":1836942771,"ble_addr":"d616f9641622","bp_high":137,"bp_low":95,"PR":74}]}}})";
const std::string kAva4Oximeter =
    R"({"from":"BLE","to":"CLOUD","time":1836946958,"deviceCode":"DC:DA:0C:5A:80:44","mac":"DC:DA:0C:5A:80:44","type":"reportAttribute","device":"Oximeter Jumper","data":{"attribute":"Oximeter JUMPER","mac":"DC:DA:0C:5A:80:44","value":{"device_list":[{"scan_time":1836946958,"ble_addr":"ff23041920b4","pulse":72,"spo2":96,"pi":43}]}}})";
const std::string kAva4Heartbeat =
    R"({"from":"ESP32_GW","to":"CLOUD","name":"AVA4-No.1","time":1743963911,"mac":"DC:DA:0C:5A:80:64","IMEI":"868334037510868","ICCID":"8966032240112716129","type":"HB_Msg","data":{"msg":"Online"}})";

// From the integrator's AVA4 document (not in the fixture file): glucose as a
// string, and an IR thermometer.
const std::string kAva4Glucose =
    R"({"from":"BLE","to":"CLOUD","time":1841875953,"mac":"DC:DA:0C:5A:80:88","type":"reportAttribute","data":{"attribute":"Contour_Elite","mac":"DC:DA:0C:5A:80:88","value":{"device_list":[{"scan_time":1841875953,"ble_addr":"806fb0750c88","scan_rssi":-66,"blood_glucose":"108","marker":"After Meal"}]}}})";
const std::string kAva4Thermometer =
    R"({"from":"BLE","to":"CLOUD","time":1841932446,"mac":"DC:DA:0C:5A:80:64","type":"reportAttribute","data":{"attribute":"IR_TEMO_JUMPER","mac":"DC:DA:0C:5A:80:64","value":{"device_list":[{"scan_time":1841932446,"ble_addr":"ff2301283119","temp":36.43000031,"mode":"Head"}]}}})";

std::string qube_reading(const std::string& value, int time = 1739360702) {
  return R"({"from":"PI","to":"CLOUD","time":)" + std::to_string(time) +
         R"(,"mac":"e4:5f:01:ed:82:59","type":"reportAttribute","data":{"attribute":"X","ble_mac":"AA:BB:CC:00:11:22","value":)" +
         value + "}}";
}

}  // namespace

TEST_CASE("qube-vital blood pressure reading: device is the cuff, no sensor_time, no personal data",
          "[drivers][qube-vital]") {
  DriverHarness qube("qube-vital");
  CHECK(qube.driver->topic_filters() == std::vector<std::string>{"CM4_BLE_GW_TX"});
  auto events = qube.events("CM4_BLE_GW_TX", kQubeBp);
  REQUIRE(events.size() == 1);
  const auto& e = events[0];
  CHECK(e.kind() == v1::EVENT_KIND_VITALS);
  CHECK(e.device_id() == "FF:22:09:08:31:31");
  CHECK(e.driver() == "qube-vital");
  CHECK(e.vitals().systolic_mmhg() == 120);
  CHECK(e.vitals().diastolic_mmhg() == 78);
  CHECK(e.vitals().heart_rate_bpm() == 71);
  CHECK_FALSE(e.vitals().has_spo2_percent());
  CHECK_FALSE(e.has_sensor_time());
  CHECK(e.SerializeAsString().find("redacted") == std::string::npos);
}

TEST_CASE("qube-vital oximeter reading: pulse and SpO2, perfusion index not read", "[drivers][qube-vital]") {
  DriverHarness qube("qube-vital");
  auto events = qube.events("CM4_BLE_GW_TX", kQubeOximeter);
  REQUIRE(events.size() == 1);
  CHECK(events[0].device_id() == "40:2E:71:4A:38:84");
  CHECK(events[0].vitals().heart_rate_bpm() == 70);
  CHECK(events[0].vitals().spo2_percent() == 97);
  CHECK_FALSE(events[0].vitals().has_systolic_mmhg());
}

TEST_CASE("qube-vital thermometer, glucometer and scale", "[drivers][qube-vital]") {
  DriverHarness qube("qube-vital");
  auto temp = qube.events("CM4_BLE_GW_TX", qube_reading(R"({"mode":"Head","Temp":36.88})"));
  REQUIRE(temp.size() == 1);
  CHECK(temp[0].vitals().body_temperature_celsius() == Approx(36.88));
  CHECK(qube.events("CM4_BLE_GW_TX", qube_reading(R"({"mode":"Object","Temp":21.5})", 1739360800)).empty());
  CHECK(qube.events("CM4_BLE_GW_TX", qube_reading(R"({"blood_glucose":97,"marker":"After Meal"})")).empty());
  CHECK(qube.events("CM4_BLE_GW_TX", qube_reading(R"({"weight":76.3,"Resistance":598.5})")).empty());
}

TEST_CASE("qube-vital re-delivery is dropped, a new identical measurement is reported", "[drivers][qube-vital]") {
  DriverHarness qube("qube-vital");
  CHECK(qube.events("CM4_BLE_GW_TX", kQubeOximeter).size() == 1);
  CHECK(qube.events("CM4_BLE_GW_TX", kQubeOximeter).empty());  // same message again
  std::string later = kQubeOximeter;
  later.replace(later.find("1714819151"), 10, "1714819751");
  CHECK(qube.events("CM4_BLE_GW_TX", later).size() == 1);
}

TEST_CASE("qube-vital and ava4 heartbeats are hub availability, power-on is always reported",
          "[drivers][qube-vital][ava4]") {
  DriverHarness ava4("ava4");
  auto online = ava4.events("ESP32_BLE_GW_TX", kAva4Heartbeat);
  REQUIRE(online.size() == 1);
  CHECK(online[0].kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(online[0].device_id() == "DC:DA:0C:5A:80:64");
  CHECK(online[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  CHECK_FALSE(online[0].has_sensor_time());
  CHECK(ava4.events("ESP32_BLE_GW_TX", kAva4Heartbeat).empty());
  std::string power_on = kAva4Heartbeat;
  power_on.replace(power_on.find("HB_Msg"), 6, "reportMsg");
  CHECK(ava4.events("ESP32_BLE_GW_TX", power_on).size() == 1);
  CHECK(ava4.events("ESP32_BLE_GW_TX", power_on).size() == 1);

  DriverHarness qube("qube-vital");
  auto box = qube.events(
      "CM4_BLE_GW_TX",
      R"({"from":"PI_GW","to":"CLOUD","name":"Vital Box","time":1714788661,"mac":"dc:a6:32:fe:a3:eb","type":"HB_Msg","data":{"msg":"Online"}})");
  REQUIRE(box.size() == 1);
  CHECK(box[0].device_id() == "dc:a6:32:fe:a3:eb");
  CHECK(box[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
}

TEST_CASE("ava4 readings come from device_list, named by ble_addr, with future clocks ignored", "[drivers][ava4]") {
  DriverHarness ava4("ava4");
  CHECK(ava4.driver->topic_filters() == std::vector<std::string>{"ESP32_BLE_GW_TX", "dusun_pub", "dusun_sub"});
  auto bp = ava4.events("dusun_pub", kAva4Bp);
  REQUIRE(bp.size() == 1);
  CHECK(bp[0].kind() == v1::EVENT_KIND_VITALS);
  CHECK(bp[0].device_id() == "d616f9641622");
  CHECK(bp[0].driver() == "ava4");
  CHECK(bp[0].vitals().systolic_mmhg() == 137);
  CHECK(bp[0].vitals().diastolic_mmhg() == 95);
  CHECK(bp[0].vitals().heart_rate_bpm() == 74);
  CHECK_FALSE(bp[0].has_sensor_time());  // time 1836942771 is in 2028

  auto oximeter = ava4.events("dusun_sub", kAva4Oximeter);  // the production topic
  REQUIRE(oximeter.size() == 1);
  CHECK(oximeter[0].device_id() == "ff23041920b4");
  CHECK(oximeter[0].vitals().heart_rate_bpm() == 72);
  CHECK(oximeter[0].vitals().spo2_percent() == 96);

  auto thermometer = ava4.events("dusun_pub", kAva4Thermometer);
  REQUIRE(thermometer.size() == 1);
  CHECK(thermometer[0].vitals().body_temperature_celsius() == Approx(36.43));
  CHECK(ava4.events("dusun_pub", kAva4Glucose).empty());  // string glucose: not an error, not a vital
}

TEST_CASE("ava4 device_list with several readings gives one event per reading", "[drivers][ava4]") {
  DriverHarness ava4("ava4");
  auto events = ava4.events(
      "dusun_pub",
      R"({"type":"reportAttribute","time":1,"data":{"value":{"device_list":[{"scan_time":10,"ble_addr":"aa","spo2":95,"pulse":80},{"scan_time":11,"ble_addr":"bb","spo2":99,"pulse":60}]}}})");
  REQUIRE(events.size() == 2);
  CHECK(events[0].device_id() == "aa");
  CHECK(events[0].vitals().spo2_percent() == 95);
  CHECK(events[1].device_id() == "bb");
  CHECK(events[1].vitals().heart_rate_bpm() == 60);
}

TEST_CASE("ava4 and qube-vital bad payloads are typed errors and change no state", "[drivers][ava4][qube-vital]") {
  DriverHarness ava4("ava4");
  using Code = DecodeError::Code;
  auto list = [](const std::string& item) {
    return R"({"type":"reportAttribute","data":{"value":{"device_list":[)" + item + "]}}}";
  };
  CHECK(ava4.code("dusun_pub", "{\"type\":") == Code::kMalformed);
  CHECK(ava4.code("dusun_pub", "[]") == Code::kWrongType);
  CHECK(ava4.code("dusun_pub", list(R"({"ble_addr":"aa","spo2":30})")) == Code::kOutOfRange);
  CHECK(ava4.code("dusun_pub", list(R"({"ble_addr":"aa","PR":400})")) == Code::kOutOfRange);
  CHECK(ava4.code("dusun_pub", list(R"({"ble_addr":"aa","bp_high":"high"})")) == Code::kWrongType);
  CHECK(ava4.code("dusun_pub", list(R"({"ble_addr":"aa","temp":29.0})")) == Code::kOutOfRange);
  CHECK(ava4.code("dusun_pub", list(R"({"spo2":97})")) == Code::kMalformed);  // no ble_addr
  CHECK(ava4.code("dusun_pub", list(R"("aa")")) == Code::kWrongType);
  CHECK(ava4.code("dusun_pub", R"({"type":"reportAttribute","data":{"value":{"device_list":{}}}})") ==
        Code::kWrongType);
  CHECK(ava4.code("dusun_pub", R"({"type":"reportAttribute","data":"x"})") == Code::kWrongType);
  CHECK(ava4.code("dusun_pub", R"({"type":7})") == Code::kWrongType);
  CHECK(ava4.code("ESP32_BLE_GW_TX", R"({"type":"HB_Msg"})") == Code::kMalformed);  // no hub mac
  CHECK(ava4.code("somewhere", "{}") == Code::kUnsupported);
  // A good reading beside a bad one in the same list: the whole message is rejected.
  CHECK(ava4.code("dusun_pub", list(R"({"ble_addr":"cc","spo2":97},{"ble_addr":"dd","spo2":3})")) == Code::kOutOfRange);
  CHECK(ava4.events("dusun_pub", list(R"({"ble_addr":"cc","spo2":97})")).size() == 1);
  eg::test::check_truncations_rejected(*ava4.driver, "dusun_pub", kAva4Bp);

  DriverHarness qube("qube-vital");
  CHECK(qube.code("CM4_BLE_GW_TX", qube_reading(R"({"bp_high":120,"bp_low":140})")) == Code::kOutOfRange);
  CHECK(qube.code("CM4_BLE_GW_TX", qube_reading(R"({"spo2":"ninety"})")) == Code::kWrongType);
  CHECK(qube.code("CM4_BLE_GW_TX", qube_reading("[1]")) == Code::kWrongType);
  CHECK(qube.code("CM4_BLE_GW_TX", R"({"type":"reportAttribute","data":{"value":{"spo2":97}}})") ==
        Code::kMalformed);  // no ble_mac
  eg::test::check_truncations_rejected(*qube.driver, "CM4_BLE_GW_TX", kQubeBp);
  DriverHarness fresh_ava4("ava4");
  for (const std::string* fixture : {&kAva4Bp, &kAva4Oximeter, &kAva4Glucose, &kAva4Thermometer})
    eg::test::check_corruptions_survive(*fresh_ava4.driver, "dusun_pub", *fixture);
  eg::test::check_corruptions_survive(*fresh_ava4.driver, "ESP32_BLE_GW_TX", kAva4Heartbeat);
  DriverHarness fresh_qube("qube-vital");
  for (const std::string* fixture : {&kQubeBp, &kQubeOximeter})
    eg::test::check_corruptions_survive(*fresh_qube.driver, "CM4_BLE_GW_TX", *fixture);
}

TEST_CASE("ava4 and qube-vital accept a topic prefix for bridged brokers", "[drivers][ava4][qube-vital]") {
  DriverHarness ava4("ava4", {"site1"});
  CHECK(ava4.driver->topic_filters() ==
        std::vector<std::string>{"site1/ESP32_BLE_GW_TX", "site1/dusun_pub", "site1/dusun_sub"});
  CHECK(ava4.events("site1/dusun_pub", kAva4Bp).size() == 1);
  DriverHarness qube("qube-vital", {"site1"});
  CHECK(qube.events("site1/CM4_BLE_GW_TX", kQubeBp).size() == 1);
}
