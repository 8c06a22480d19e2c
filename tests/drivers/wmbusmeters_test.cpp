#include "driver_harness.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;
using eg::test::DriverHarness;
using eg::test::utc_seconds;

namespace {

// Fixture payloads (sensor-payloads.json), verbatim.
const std::string kIperl =
    R"({"_":"telegram","media":"water","meter":"iperl","name":"MyTapWater","id":"33225544","max_flow_m3h":0,"total_m3":123.529,"timestamp":"2024-03-03T18:37:00Z"})";
const std::string kMultical21 =
    R"({"media":"cold water","meter":"multical21","name":"MyTapWater","id":"12345678","total_m3":6.388,"target_m3":6.377,"max_flow_m3h":0.0,"flow_temperature":8,"external_temperature":23,"current_status":"DRY","time_dry":"22-31 days","time_reversed":"","time_leaking":"","time_bursting":"","timestamp":"2018-02-08T09:07:22Z","device":"im871a[1234567]","rssi_dbm":-40})";
const std::string kIzar =
    R"({"media":"water","meter":"izar","name":"watermeter","id":"43430778","total_m3":166.204,"last_month_total_m3":162.614,"last_month_measure_date":"2020-07-01","remaining_battery_life_y":13,"current_alarms":"no_alarm","previous_alarms":"no_alarm","timestamp":"2020-07-14T14:18:45Z"})";
const std::string kHydrus =
    R"({"_":"telegram","media":"water","meter":"hydrus","name":"HydrusWater","id":"64646464","total_m3":1.174,"flow_m3h":0,"flow_temperature_c":10.4,"remaining_battery_life_y":13.686797,"status":"OK","target_datetime":"2019-10-31 23:59","target_m3": 0.2,"timestamp":"1111-11-11T11:11:11Z"})";
const std::string kEi6500 =
    R"({"_":"telegram","media":"smoke detector","meter":"ei6500","name":"Smokey3","id":"01097274","status":"OK","last_alarm_date":"2022-05-24","alarm_counter":1,"software_version":"010107","message_datetime":"2022-05-24 06:52","duration_removed_h":0,"last_remove_date":"2000-01-01","removed_counter":0,"test_button_last_date":"2022-05-24","test_button_counter":2,"installation_date":"2022-05-24","last_sound_check_date":"2022-03-16","dust_level":"DUST_2","dust_level_counter":2,"battery_level":"3.00V","obstacle_distance":"","timestamp":"1111-11-11T11:11:11Z"})";

// The ei6500 fixture with another alarm history and reception time.
std::string smoke_telegram(int alarm_counter, const std::string& last_alarm_date) {
  return R"({"_":"telegram","media":"smoke detector","meter":"ei6500","id":"01097274","alarm_counter":)" +
         std::to_string(alarm_counter) + R"(,"last_alarm_date":")" + last_alarm_date +
         R"(","timestamp":"2022-06-01T08:00:00Z"})";
}

}  // namespace

TEST_CASE("wmbusmeters iPERL telegram becomes a water meter reading with UTC sensor time", "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters");
  auto events = wmbus.events("wmbusmeters/33225544", kIperl);
  REQUIRE(events.size() == 1);
  const auto& e = events[0];
  CHECK(e.kind() == v1::EVENT_KIND_WATER_METER);
  CHECK(e.device_id() == "33225544");
  CHECK(e.driver() == "wmbusmeters");
  CHECK(e.source_topic() == "wmbusmeters/33225544");
  CHECK(e.received_time().seconds() == 1'767'225'600);
  CHECK(e.sensor_time().seconds() == utc_seconds(2024, 3, 3, 18, 37, 0));
  CHECK(e.water_meter().total_m3() == Approx(123.529));
  CHECK_FALSE(e.water_meter().has_flow_m3h());  // max_flow_m3h is not the current flow
  CHECK(e.water_meter().status_flags().empty());
}

TEST_CASE("wmbusmeters 1.x Kamstrup telegram on a user-chosen topic carries current_status flags",
          "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters", {"water"});
  CHECK(wmbus.driver->topic_filters() == std::vector<std::string>{"water/#"});
  auto events = wmbus.events("water", kMultical21);
  REQUIRE(events.size() == 1);
  const auto& e = events[0];
  CHECK(e.kind() == v1::EVENT_KIND_WATER_METER);
  CHECK(e.device_id() == "12345678");
  CHECK(e.sensor_time().seconds() == utc_seconds(2018, 2, 8, 9, 7, 22));
  CHECK(e.water_meter().total_m3() == Approx(6.388));
  CHECK_FALSE(e.water_meter().has_flow_m3h());
  REQUIRE(e.water_meter().status_flags_size() == 1);
  CHECK(e.water_meter().status_flags(0) == "DRY");
}

TEST_CASE("wmbusmeters IZAR no_alarm is no flag, alarms are comma-joined flags", "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters", {"tele"});
  auto events = wmbus.events("tele/wasser/verbrauch", kIzar);
  REQUIRE(events.size() == 1);
  CHECK(events[0].device_id() == "43430778");
  CHECK(events[0].sensor_time().seconds() == utc_seconds(2020, 7, 14, 14, 18, 45));
  CHECK(events[0].water_meter().total_m3() == Approx(166.204));
  CHECK(events[0].water_meter().status_flags().empty());

  auto leaking = wmbus.events(
      "tele/wasser/verbrauch",
      R"({"media":"water","meter":"izar","id":"43430778","total_m3":166.204,"current_alarms":"leakage,meter_blocked","previous_alarms":"no_alarm"})");
  REQUIRE(leaking.size() == 1);
  REQUIRE(leaking[0].water_meter().status_flags_size() == 2);
  CHECK(leaking[0].water_meter().status_flags(0) == "leakage");
  CHECK(leaking[0].water_meter().status_flags(1) == "meter_blocked");
}

TEST_CASE("wmbusmeters Hydrus: placeholder timestamp leaves sensor_time unset, zero flow is reported",
          "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters");
  auto events = wmbus.events("wmbusmeters/64646464", kHydrus);
  REQUIRE(events.size() == 1);
  const auto& e = events[0];
  CHECK(e.device_id() == "64646464");
  CHECK_FALSE(e.has_sensor_time());
  CHECK(e.water_meter().total_m3() == Approx(1.174));
  REQUIRE(e.water_meter().has_flow_m3h());
  CHECK(e.water_meter().flow_m3h() == 0);
  CHECK(e.water_meter().status_flags().empty());  // "OK"
}

TEST_CASE("wmbusmeters Kamstrup space-joined status flags and litre units", "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters");
  auto events =
      wmbus.events("wmbusmeters/k1", R"({"_":"telegram","media":"water","meter":"multical21","id":"k1","total_l":6388,)"
                                     R"("flow_lh":250,"status":"LEAK BURST","timestamp":"2024-03-03T18:37:00Z"})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].water_meter().total_m3() == Approx(6.388));
  CHECK(events[0].water_meter().flow_m3h() == Approx(0.25));
  REQUIRE(events[0].water_meter().status_flags_size() == 2);
  CHECK(events[0].water_meter().status_flags(0) == "LEAK");
  CHECK(events[0].water_meter().status_flags(1) == "BURST");
}

TEST_CASE("wmbusmeters device id falls back to the configured name", "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters");
  auto events = wmbus.events("wmbusmeters/kitchen", R"({"media":"water","name":"kitchen","total_m3":1.5})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].device_id() == "kitchen");
}

TEST_CASE("wmbusmeters reports every changed reading and drops identical repeats", "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters");
  const std::string topic = "wmbusmeters/33225544";
  auto telegram = [](const std::string& total, const std::string& time) {
    return R"({"_":"telegram","media":"water","meter":"iperl","id":"33225544","total_m3":)" + total +
           R"(,"timestamp":")" + time + R"("})";
  };
  CHECK(wmbus.events(topic, telegram("123.529", "2024-03-03T18:37:00Z")).size() == 1);  // first reports
  CHECK(wmbus.events(topic, telegram("123.529", "2024-03-03T18:37:16Z")).empty());      // no water used
  auto used = wmbus.events(topic, telegram("123.531", "2024-03-03T18:37:32Z"));
  REQUIRE(used.size() == 1);
  CHECK(used[0].water_meter().total_m3() == Approx(123.531));
  CHECK(used[0].sensor_time().seconds() == utc_seconds(2024, 3, 3, 18, 37, 32));
  // A second meter is its own device.
  CHECK(wmbus.events("wmbusmeters/99", R"({"media":"water","id":"99","total_m3":123.531})").size() == 1);
}

TEST_CASE("wmbusmeters smoke detector: first telegram establishes, a counter increase is an alarm",
          "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters");
  const std::string topic = "wmbusmeters/01097274";
  CHECK(wmbus.events(topic, kEi6500).empty());  // history only, no way to tell when alarm 1 was
  CHECK(wmbus.events(topic, smoke_telegram(1, "2022-05-24")).empty());
  auto alarm = wmbus.events(topic, smoke_telegram(2, "2022-06-01"));
  REQUIRE(alarm.size() == 1);
  CHECK(alarm[0].kind() == v1::EVENT_KIND_SMOKE);
  CHECK(alarm[0].device_id() == "01097274");
  CHECK(alarm[0].smoke().alarm());
  CHECK(alarm[0].sensor_time().seconds() == utc_seconds(2022, 6, 1, 8, 0, 0));
  CHECK(wmbus.events(topic, smoke_telegram(2, "2022-06-01")).empty());  // the same alarm is not repeated
  CHECK(wmbus.events(topic, smoke_telegram(0, "2000-01-01")).empty());  // reset / replaced: re-established
  CHECK(wmbus.events(topic, smoke_telegram(1, "2022-07-01")).size() == 1);
}

TEST_CASE("wmbusmeters ignores meters it does not model and non-telegram output", "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters");
  CHECK(wmbus.events("wmbusmeters/h1", R"({"_":"telegram","media":"heat","id":"h1","total_energy_consumption_kwh":5})")
            .empty());
  CHECK(wmbus.events("wmbusmeters/g1", R"({"_":"telegram","media":"gas","id":"g1","total_m3":12})").empty());
  CHECK(wmbus.events("wmbusmeters/x", R"({"_":"status","media":"water","id":"x","total_m3":1})").empty());
}

TEST_CASE("wmbusmeters bad telegrams are typed errors and change no state", "[drivers][wmbusmeters]") {
  DriverHarness wmbus("wmbusmeters");
  const std::string topic = "wmbusmeters/1";
  using Code = DecodeError::Code;
  CHECK(wmbus.code(topic, "shell output, not JSON") == Code::kMalformed);
  CHECK(wmbus.code(topic, R"([{"media":"water"}])") == Code::kWrongType);
  CHECK(wmbus.code(topic, R"({"id":"1","total_m3":1})") == Code::kMalformed);         // no media
  CHECK(wmbus.code(topic, R"({"media":"water","total_m3":1})") == Code::kMalformed);  // no id/name
  CHECK(wmbus.code(topic, R"({"media":"water","id":"1","total_m3":"lots"})") == Code::kWrongType);
  CHECK(wmbus.code(topic, R"({"media":"water","id":"1","total_m3":-4})") == Code::kOutOfRange);
  CHECK(wmbus.code(topic, R"({"media":"water","id":"1","total_m3":1,"status":7})") == Code::kWrongType);
  CHECK(wmbus.code(topic, R"({"media":"water","id":"1","total_m3":1,"timestamp":"yesterday"})") == Code::kWrongType);
  CHECK(wmbus.code(topic, R"({"media":"water","id":true,"total_m3":1})") == Code::kWrongType);
  CHECK(wmbus.code(topic, R"({"media":"smoke detector","id":"1","alarm_counter":"x"})") == Code::kWrongType);
  CHECK(wmbus.code(topic, R"({"media":"smoke detector","id":"1","alarm_counter":1.5})") == Code::kWrongType);
  eg::test::check_truncations_rejected(*wmbus.driver, topic, kIperl);
  for (const std::string* fixture : {&kIperl, &kMultical21, &kIzar, &kHydrus, &kEi6500})
    eg::test::check_corruptions_survive(*DriverHarness("wmbusmeters").driver, topic, *fixture);
  // None of the rejected telegrams established a reading: this one is the first.
  CHECK(wmbus.events(topic, R"({"media":"water","id":"1","total_m3":1})").size() == 1);
}

TEST_CASE("wmbusmeters: an unchanged telegram reports nothing new but names its meter as heard",
          "[drivers][wmbusmeters][liveness]") {
  DriverHarness wmbus("wmbusmeters");
  CHECK(wmbus.events("wmbusmeters/33225544", kIperl).size() == 1);
  wmbus.driver->take_heard();
  CHECK(wmbus.events("wmbusmeters/33225544", kIperl).empty());  // nobody used water
  CHECK(wmbus.driver->take_heard() == std::vector<std::string>{"33225544"});
  CHECK(wmbus.driver->take_heard().empty());  // taken once
}

TEST_CASE(
    "wmbusmeters ei6500: an alarm in the telegram where the test button counter rose is its self-test, the "
    "detector is heard from every telegram",
    "[drivers][wmbusmeters][self-test][liveness]") {
  DriverHarness wmbus("wmbusmeters");
  const std::string topic = "wmbusmeters/01097274";
  auto with_tests = [](std::string telegram, int tests) {
    return telegram.replace(telegram.size() - 1, 1, ",\"test_button_counter\":" + std::to_string(tests) + "}");
  };
  CHECK(wmbus.events(topic, with_tests(smoke_telegram(1, "2022-05-24"), 2)).empty());
  CHECK(wmbus.driver->take_heard() == std::vector<std::string>{"01097274"});        // history only, still heard
  auto test = wmbus.events(topic, with_tests(smoke_telegram(2, "2022-06-01"), 3));  // the monthly check
  REQUIRE(test.size() == 1);
  CHECK(test[0].smoke().alarm());
  CHECK(test[0].self_test());
  auto fire = wmbus.events(topic, with_tests(smoke_telegram(3, "2022-06-09"), 3));  // the counter alone rose
  REQUIRE(fire.size() == 1);
  CHECK_FALSE(fire[0].self_test());
}
