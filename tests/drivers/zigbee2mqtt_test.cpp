#include <catch2/catch.hpp>

#include "eg/drivers/registry.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;

namespace {

struct Z2m {
  std::unique_ptr<eg::drivers::Driver> driver = eg::drivers::make_driver("zigbee2mqtt");
  eg::WallTime now{std::chrono::seconds(1'767'225'600)};

  eg::drivers::DecodeResult decode(const std::string& topic, const std::string& payload) {
    return driver->decode({topic, payload, now, false});
  }
  eg::drivers::Events events(const std::string& topic, const std::string& payload) {
    auto result = decode(topic, payload);
    INFO(topic << " " << payload << " -> " << (result.ok() ? "" : result.error().reason));
    REQUIRE(result.ok());
    return result.value();
  }
};

}  // namespace

TEST_CASE("zigbee2mqtt fall radar state becomes a fall event with device, driver and times", "[drivers][z2m]") {
  Z2m z2m;
  auto events = z2m.events("zigbee2mqtt/0xdc8e95fffe4dc3dd",
                           R"({"fall_down_status":"fall","linkquality":120,"last_seen":"2024-09-07T15:54:41.147Z"})");
  REQUIRE(events.size() == 1);
  const auto& event = events[0];
  CHECK(event.kind() == v1::EVENT_KIND_FALL);
  CHECK(event.device_id() == "0xdc8e95fffe4dc3dd");
  CHECK(event.fall().state() == v1::FallPayload::STATE_DETECTED);
  CHECK(event.fall().vendor_state() == "fall");
  CHECK(event.driver() == "zigbee2mqtt");
  CHECK(event.source_topic() == "zigbee2mqtt/0xdc8e95fffe4dc3dd");
  CHECK(event.received_time().seconds() == 1'767'225'600);
  CHECK(event.sensor_time().seconds() == 1'725'724'481);
  CHECK(event.sensor_time().nanos() == 147'000'000);
}

TEST_CASE("zigbee2mqtt fall enums of each radar family map to one scale", "[drivers][z2m]") {
  Z2m z2m;
  auto state_of = [&](const std::string& device, const std::string& payload) {
    auto events = z2m.events("zigbee2mqtt/" + device, payload);
    for (const auto& e : events)
      if (e.kind() == v1::EVENT_KIND_FALL) return e.fall().state();
    return v1::FallPayload::STATE_UNSPECIFIED;
  };
  CHECK(state_of("a", R"({"fall_down_status":"maybe_fall"})") == v1::FallPayload::STATE_SUSPECTED);
  CHECK(state_of("b", R"({"fall_status":"fall_alarm","occupancy":true,"sensor_status":"none"})") ==
        v1::FallPayload::STATE_DETECTED);
  CHECK(state_of("c", R"({"fall_status":"fall_warning"})") == v1::FallPayload::STATE_SUSPECTED);
  CHECK(state_of("d", R"({"status":"falling","breathing_rate":14})") == v1::FallPayload::STATE_DETECTED);
  CHECK(state_of("e", R"({"fall_status":"normal"})") == v1::FallPayload::STATE_NONE);
}

TEST_CASE("zigbee2mqtt gas alarm carries the concentration in percent LEL", "[drivers][z2m]") {
  Z2m z2m;
  auto events = z2m.events("zigbee2mqtt/kitchen_gas", R"({"gas":true,"gas_value":18.5})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind() == v1::EVENT_KIND_GAS);
  CHECK(events[0].gas().alarm());
  CHECK(events[0].gas().concentration_lel_percent() == Approx(18.5));

  auto second_alarm_bit = z2m.events("zigbee2mqtt/hall_gas", R"({"gas_alarm_1":false,"gas_alarm_2":true})");
  REQUIRE(second_alarm_bit.size() == 1);
  CHECK(second_alarm_bit[0].gas().alarm());
}

TEST_CASE("zigbee2mqtt vitals carry heart and breathing rate with units", "[drivers][z2m]") {
  Z2m z2m;
  auto events = z2m.events("zigbee2mqtt/bed_radar", R"({"heart_rate":72,"breathing_rate":"15.00"})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind() == v1::EVENT_KIND_VITALS);
  CHECK(events[0].vitals().heart_rate_bpm() == 72);
  CHECK(events[0].vitals().breathing_rate_per_min() == 15);
  CHECK_FALSE(events[0].vitals().has_spo2_percent());
}

TEST_CASE("zigbee2mqtt repeated identical states produce no repeated safety events", "[drivers][z2m]") {
  Z2m z2m;
  const std::string topic = "zigbee2mqtt/room301_gas";
  CHECK(z2m.events(topic, R"({"gas":false,"battery":90,"linkquality":100})").size() == 2);  // first: gas + battery
  CHECK(z2m.events(topic, R"({"gas":false,"battery":90,"linkquality":97})").empty());
  CHECK(z2m.events(topic, R"({"gas":false,"battery":89,"linkquality":97})").empty());  // no low-battery crossing
  auto alarm = z2m.events(topic, R"({"gas":true,"battery":89,"linkquality":97})");
  REQUIRE(alarm.size() == 1);
  CHECK(alarm[0].gas().alarm());
  CHECK(z2m.events(topic, R"({"gas":true,"battery":89,"linkquality":96})").empty());
  CHECK(z2m.events(topic, R"({"battery":89})").empty());  // absent key: unchanged, not false
  auto cleared = z2m.events(topic, R"({"gas":false,"battery":89})");
  REQUIRE(cleared.size() == 1);
  CHECK_FALSE(cleared[0].gas().alarm());
}

TEST_CASE("zigbee2mqtt SOS actions are events: every press counts, the legacy empty clear does not", "[drivers][z2m]") {
  Z2m z2m;
  const std::string topic = "zigbee2mqtt/sos_button";
  auto press = z2m.events(topic, R"({"action":"emergency","battery":100})");
  REQUIRE(press.size() == 2);  // SOS + first battery state
  CHECK(press[0].kind() == v1::EVENT_KIND_SOS_CALL);
  CHECK(press[0].sos().active());
  CHECK(press[0].sos().vendor_action() == "emergency");
  CHECK(z2m.events(topic, R"({"action":"","battery":100})").empty());
  CHECK(z2m.events(topic, R"({"action":null,"battery":100})").empty());
  CHECK(z2m.events(topic, R"({"action":"emergency","battery":100})").size() == 1);
  CHECK(z2m.events("zigbee2mqtt/aqara_cube", R"({"action":"fall"})").empty());  // a dropped cube, not a person
}

TEST_CASE("zigbee2mqtt contact true means closed", "[drivers][z2m]") {
  Z2m z2m;
  auto events = z2m.events("zigbee2mqtt/front_door", R"({"contact":false})");
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind() == v1::EVENT_KIND_DOOR);
  CHECK(events[0].door().open());
}

TEST_CASE("zigbee2mqtt availability and bridge state become device health in both forms", "[drivers][z2m]") {
  Z2m z2m;
  auto json_form = z2m.events("zigbee2mqtt/room 301 radar/availability", R"({"state":"offline"})");
  REQUIRE(json_form.size() == 1);
  CHECK(json_form[0].device_id() == "room 301 radar");
  CHECK(json_form[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_OFFLINE);
  auto plain_form = z2m.events("zigbee2mqtt/room 301 radar/availability", "online");
  REQUIRE(plain_form.size() == 1);
  CHECK(plain_form[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  auto bridge = z2m.events("zigbee2mqtt/bridge/state", "offline");
  REQUIRE(bridge.size() == 1);
  CHECK(bridge[0].device_id() == "zigbee2mqtt/bridge");
  CHECK(z2m.events("zigbee2mqtt/bridge/devices", "[]").empty());
}

TEST_CASE("zigbee2mqtt last_seen is read in all three formats", "[drivers][z2m]") {
  Z2m z2m;
  auto local = z2m.events("zigbee2mqtt/a", R"({"contact":true,"last_seen":"2026-04-17T23:33:22+08:00"})");
  CHECK(local.at(0).sensor_time().seconds() == 1'776'440'002);
  auto epoch = z2m.events("zigbee2mqtt/b", R"({"contact":true,"last_seen":1656118444933})");
  CHECK(epoch.at(0).sensor_time().seconds() == 1'656'118'444);
  CHECK(epoch.at(0).sensor_time().nanos() == 933'000'000);
}

TEST_CASE("zigbee2mqtt bad payloads are typed errors with a reason", "[drivers][z2m]") {
  Z2m z2m;
  auto code_of = [&](const std::string& payload) {
    auto result = z2m.decode("zigbee2mqtt/radar", payload);
    REQUIRE_FALSE(result.ok());
    CHECK_FALSE(result.error().reason.empty());
    return result.error().code;
  };
  CHECK(code_of(R"({"gas": tru)") == DecodeError::Code::kMalformed);
  CHECK(code_of("") == DecodeError::Code::kMalformed);
  CHECK(code_of("\xff\xfe{}") == DecodeError::Code::kMalformed);
  CHECK(code_of("[1,2]") == DecodeError::Code::kWrongType);
  CHECK(code_of(R"({"gas":"maybe"})") == DecodeError::Code::kWrongType);
  CHECK(code_of(R"({"heart_rate":900})") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(R"({"battery":-5})") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(R"({"heart_rate":"nan"})") == DecodeError::Code::kWrongType);
  CHECK(code_of(R"({"contact":true,"last_seen":"yesterday"})") == DecodeError::Code::kWrongType);
  // A rejected message changes no remembered state: the same state, valid, is still new.
  CHECK(z2m.events("zigbee2mqtt/radar", R"({"gas":true})").size() == 1);
}

TEST_CASE("zigbee2mqtt OWON status gives fall, presence and bed, posture changes are not fall changes",
          "[drivers][z2m]") {
  Z2m z2m;
  const std::string topic = "zigbee2mqtt/owon_radar";
  auto on_bed = z2m.events(topic, R"({"status":"on_the_bed","breathing_rate":15})");
  REQUIRE(on_bed.size() == 4);  // first message: fall none, present, in bed, vitals
  CHECK(on_bed[0].fall().state() == v1::FallPayload::STATE_NONE);
  CHECK(on_bed[1].presence().present());
  CHECK(on_bed[2].bed_state().state() == v1::BedPayload::STATE_IN_BED);

  // Bed exit: on_the_bed -> occupied. Still no fall, still present: only the bed changes.
  auto bed_exit = z2m.events(topic, R"({"status":"occupied","breathing_rate":15})");
  REQUIRE(bed_exit.size() == 1);
  CHECK(bed_exit[0].kind() == v1::EVENT_KIND_BED);
  CHECK(bed_exit[0].bed_state().state() == v1::BedPayload::STATE_OUT_OF_BED);
  CHECK(z2m.events(topic, R"({"status":"sitting","breathing_rate":15})").empty());

  // A person who is falling is present; presence does not change.
  auto falling = z2m.events(topic, R"({"status":"falling","breathing_rate":15})");
  REQUIRE(falling.size() == 1);
  CHECK(falling[0].fall().state() == v1::FallPayload::STATE_DETECTED);
  CHECK(falling[0].fall().vendor_state() == "falling");

  // An unmapped code says nothing about any aspect.
  CHECK(z2m.events(topic, R"j({"status":"Unknown (9)","breathing_rate":15})j").empty());
  auto nobody = z2m.events(topic, R"({"status":"unoccupied"})");
  REQUIRE(nobody.size() == 2);
  CHECK(nobody[0].fall().state() == v1::FallPayload::STATE_NONE);
  CHECK_FALSE(nobody[1].presence().present());
}

TEST_CASE("zigbee2mqtt a status that is not the OWON radar's is ignored, not an error", "[drivers][z2m]") {
  Z2m z2m;
  CHECK(z2m.events("zigbee2mqtt/plug", R"({"status":{"code":3},"contact":true})").size() == 1);
  CHECK(z2m.events("zigbee2mqtt/valve", R"({"status":"idle"})").empty());
}

TEST_CASE("zigbee2mqtt fall radar 'unknown' is unknown, not a fall state", "[drivers][z2m]") {
  Z2m z2m;
  const std::string topic = "zigbee2mqtt/hs2fd";
  REQUIRE(z2m.events(topic, R"({"fall_status":"fall_alarm","occupancy":true})").size() == 2);
  CHECK(z2m.events(topic, R"({"fall_status":"unknown","occupancy":true})").empty());
  auto cleared = z2m.events(topic, R"({"fall_status":"normal","occupancy":true})");
  REQUIRE(cleared.size() == 1);
  CHECK(cleared[0].fall().state() == v1::FallPayload::STATE_NONE);
}

TEST_CASE("zigbee2mqtt bed strap occupancy is the bed's, not the room's presence", "[drivers][z2m]") {
  Z2m z2m;
  const std::string topic = "zigbee2mqtt/bed_strap";
  auto out = z2m.events(topic, R"({"occupancy":false,"work_state":"none_5min"})");
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind() == v1::EVENT_KIND_BED);
  CHECK(out[0].bed_state().state() == v1::BedPayload::STATE_OUT_OF_BED);
  // work_state not reported yet (HA mock null): the strap's occupancy alone says in bed.
  auto in = z2m.events(topic, R"({"occupancy":true,"work_state":null})");
  REQUIRE(in.size() == 1);
  CHECK(in[0].bed_state().state() == v1::BedPayload::STATE_IN_BED);
}

TEST_CASE("zigbee2mqtt pressure strap 'sit' is someone on the strap: in bed", "[drivers][z2m]") {
  Z2m z2m;
  const std::string topic = "zigbee2mqtt/zg210z";
  auto sit = z2m.events(topic, R"({"pressure_state":"sit"})");
  REQUIRE(sit.size() == 1);
  CHECK(sit[0].bed_state().state() == v1::BedPayload::STATE_IN_BED);
  CHECK(z2m.events(topic, R"({"pressure_state":"sedentary"})").empty());
  auto vacant = z2m.events(topic, R"({"pressure_state":"none"})");
  REQUIRE(vacant.size() == 1);
  CHECK(vacant[0].bed_state().state() == v1::BedPayload::STATE_OUT_OF_BED);
}

TEST_CASE("zigbee2mqtt a concentration is reported when it changes, an absent one is unknown, not a change",
          "[drivers][z2m]") {
  Z2m z2m;
  const std::string topic = "zigbee2mqtt/tuya_gas";
  REQUIRE(z2m.events(topic, R"({"gas":true})").size() == 1);
  auto reading = z2m.events(topic, R"({"gas":true,"gas_value":12.5})");  // first concentration
  REQUIRE(reading.size() == 1);
  CHECK(reading[0].gas().alarm());
  CHECK(reading[0].gas().concentration_lel_percent() == Approx(12.5));
  CHECK(z2m.events(topic, R"({"gas":true,"gas_value":12.5})").empty());
  CHECK(z2m.events(topic, R"({"gas_alarm_1":false,"gas_alarm_2":true})").empty());  // no value: not a change
  auto higher = z2m.events(topic, R"({"gas":true,"gas_value":30})");
  REQUIRE(higher.size() == 1);
  CHECK(higher[0].gas().concentration_lel_percent() == Approx(30));

  REQUIRE(z2m.events("zigbee2mqtt/pa44z", R"({"smoke":false,"smoke_concentration":0})").size() == 1);
  CHECK(z2m.events("zigbee2mqtt/pa44z", R"({"smoke":false})").empty());
  CHECK(z2m.events("zigbee2mqtt/pa44z", R"({"smoke":false,"smoke_concentration":3})").size() == 1);
}

TEST_CASE("zigbee2mqtt IAS zones with both alarm bits publish <type>_alarm_1 and _2", "[drivers][z2m]") {
  Z2m z2m;
  auto sos = z2m.events("zigbee2mqtt/sos", R"({"sos_alarm_1":false,"sos_alarm_2":true})");
  REQUIRE(sos.size() == 1);
  CHECK(sos[0].kind() == v1::EVENT_KIND_SOS_CALL);
  CHECK(sos[0].sos().active());
  // Contact stays inverted in this form: false = open.
  auto door = z2m.events("zigbee2mqtt/door", R"({"contact_alarm_1":false,"contact_alarm_2":true})");
  REQUIRE(door.size() == 1);
  CHECK(door[0].door().open());
  auto pir = z2m.events("zigbee2mqtt/pir", R"({"occupancy_alarm_1":true,"occupancy_alarm_2":false})");
  REQUIRE(pir.size() == 1);
  CHECK(pir[0].presence().present());
  auto co = z2m.events("zigbee2mqtt/co", R"({"carbon_monoxide":true})");
  REQUIRE(co.size() == 1);
  CHECK(co[0].kind() == v1::EVENT_KIND_GAS);
  CHECK(co[0].gas().alarm());
}

TEST_CASE("zigbee2mqtt bridge/event with odd field types is an error or ignored, never a throw", "[drivers][z2m]") {
  Z2m z2m;
  const std::string topic = "zigbee2mqtt/bridge/event";
  CHECK(z2m.events(topic, R"({"type":5,"data":{}})").empty());
  CHECK(z2m.events(topic, R"({"type":"device_joined","data":{"friendly_name":"x"}})").empty());
  auto no_name = z2m.decode(topic, R"({"type":"device_leave","data":{"friendly_name":null,"ieee_address":7}})");
  REQUIRE_FALSE(no_name.ok());
  CHECK(no_name.error().code == DecodeError::Code::kMalformed);
  auto by_ieee = z2m.events(topic, R"({"type":"device_leave","data":{"friendly_name":null,"ieee_address":"0x90fd"}})");
  REQUIRE(by_ieee.size() == 1);
  CHECK(by_ieee[0].device_id() == "0x90fd");
  CHECK(by_ieee[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_LEFT_NETWORK);
}

// Issue 12 #14. Payloads of the shared fixtures (Heiman HS1SA-E, Tuya PA-44Z,
// Tuya TS0601_gas_sensor_2) with their test and pre-heat keys set.
TEST_CASE("zigbee2mqtt: a smoke detector's test button and a gas sensor's pre-heat are flagged, not plain alarms",
          "[drivers][z2m][self-test]") {
  Z2m z2m;
  auto heiman = z2m.events("zigbee2mqtt/room12_smoke", R"({"smoke": true, "tamper": false, "battery_low": false,
      "supervision_reports": true, "restore_reports": true, "trouble": false, "ac_status": false, "test": true,
      "battery_defect": false, "battery": 100, "linkquality": 76})");
  REQUIRE_FALSE(heiman.empty());
  CHECK(heiman[0].kind() == v1::EVENT_KIND_SMOKE);
  CHECK(heiman[0].smoke().alarm());
  CHECK(heiman[0].self_test());
  CHECK(heiman[0].smoke().test());
  for (size_t i = 1; i < heiman.size(); ++i) CHECK_FALSE(heiman[i].self_test());  // battery, tamper: real
  // The test over: the detector quiet again is news (not a repeat).
  auto after = z2m.events("zigbee2mqtt/room12_smoke", R"({"smoke": false, "test": false, "battery": 100})");
  REQUIRE(after.size() == 1);
  CHECK_FALSE(after[0].self_test());

  auto tuya = z2m.events("zigbee2mqtt/room12_gas", R"({"gas": true, "gas_value": 12.5, "preheat": true,
      "self_test_result": "success", "silence": false, "alarm_ringtone": "melody_1", "alarm_time": 30,
      "linkquality": 150})");
  REQUIRE(tuya.size() == 1);
  CHECK(tuya[0].gas().alarm());
  CHECK(tuya[0].warming_up());
  CHECK_FALSE(tuya[0].self_test());  // "success" is a result, not a test running
  auto warm = z2m.events("zigbee2mqtt/room12_gas", R"({"gas": true, "gas_value": 12.5, "preheat": false,
      "self_test_result": "success", "linkquality": 150})");
  REQUIRE(warm.size() == 1);  // warmed up and still reading gas: a real alarm, reported again
  CHECK_FALSE(warm[0].warming_up());

  // Other spellings: Tuya HS2SA-1's enum, NOUS E12's ON/OFF pre-heat, Heiman's enum.
  CHECK(z2m.events("zigbee2mqtt/a", R"({"smoke": true, "self_test": "checking"})")[0].self_test());
  CHECK_FALSE(z2m.events("zigbee2mqtt/b", R"({"smoke": true, "self_test": "check_success"})")[0].self_test());
  CHECK(z2m.events("zigbee2mqtt/c", R"({"gas": true, "preheat": "ON"})")[0].warming_up());
  CHECK(z2m.events("zigbee2mqtt/d", R"({"carbon_monoxide": true, "preheating": "preheating"})")[0].warming_up());
  CHECK(z2m.events("zigbee2mqtt/e", R"({"smoke": true, "self_checking": true})")[0].self_test());
  CHECK(z2m.events("zigbee2mqtt/f", R"({"smoke": true, "test_alarm": true})")[0].self_test());
}

TEST_CASE("zigbee2mqtt: states within 10 s after the bridge comes back are its cached replay",
          "[drivers][z2m][replay]") {
  Z2m z2m;
  z2m.events("zigbee2mqtt/bridge/state", R"({"state":"online"})");
  CHECK_FALSE(z2m.events("zigbee2mqtt/kitchen_gas", R"({"gas": false})")[0].replayed());
  z2m.events("zigbee2mqtt/bridge/state", R"({"state":"offline"})");
  z2m.now += std::chrono::seconds(60);
  z2m.events("zigbee2mqtt/bridge/state", R"({"state":"online"})");
  z2m.now += std::chrono::seconds(2);
  auto replay = z2m.events("zigbee2mqtt/kitchen_gas", R"({"gas": true})");  // state.json was saved before it cleared
  REQUIRE(replay.size() == 1);
  CHECK(replay[0].replayed());
  z2m.now += std::chrono::seconds(30);
  auto live = z2m.events("zigbee2mqtt/kitchen_gas", R"({"gas": true})");  // the device itself: news
  REQUIRE(live.size() == 1);
  CHECK_FALSE(live[0].replayed());
}
