#include <catch2/catch.hpp>

#include "eg/drivers/registry.hpp"
#include "eg/drivers/router.hpp"

namespace v1 = eldercare::v1;
using eg::drivers::DecodeError;

namespace {

struct Tasmota {
  explicit Tasmota(eg::drivers::DriverOptions options = {"tele"})
      : driver(eg::drivers::make_driver("tasmota", std::move(options))) {}

  std::unique_ptr<eg::drivers::Driver> driver;
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

// Seconds since the epoch of a UTC date and time.
std::int64_t utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  using namespace std::chrono;
  auto tp = sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
  return duration_cast<seconds>(tp.time_since_epoch()).count();
}

}  // namespace

TEST_CASE("tasmota Zigbee leak sensor reports its dry state and battery, then a leak from the bare zone status",
          "[drivers][tasmota]") {
  Tasmota tasmota;
  const std::string topic = "/SonoffZigbeeBridge/898E/tele/SENSOR";  // custom FullTopic, leading '/'
  auto dry = tasmota.events(topic, R"({"ZbReceived":{"0x898E":{"Device":"0x898E","ModelId":"lumi.sensor_wleak.aq1",
      "BatteryVoltage":3,"BatteryPercentage":100,"Water":0,"Endpoint":1,"LinkQuality":155}}})");
  REQUIRE(dry.size() == 2);
  CHECK(dry[0].kind() == v1::EVENT_KIND_WATER_LEAK);
  CHECK(dry[0].device_id() == "0x898E");  // no Name: the short address
  CHECK_FALSE(dry[0].water_leak().leak());
  CHECK_FALSE(dry[0].has_sensor_time());
  CHECK(dry[0].driver() == "tasmota");
  CHECK(dry[0].source_topic() == topic);
  CHECK(dry[0].received_time().seconds() == 1'767'225'600);
  CHECK(dry[1].kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(dry[1].device_id() == "0x898E");
  CHECK(dry[1].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_OK);
  CHECK(dry[1].device_health().battery_percent() == 100);
  CHECK(dry[1].device_health().link_quality() == 155);

  // The captured leak: no Water key, only the IAS zone status with bit0 set.
  auto leak = tasmota.events(topic, R"({"ZbReceived":{"0x898E":{"Device":"0x898E","0500<00":"010000FF0000",
      "ZoneStatusChange":1,"Endpoint":1,"LinkQuality":110}}})");
  REQUIRE(leak.size() == 2);  // the leak, and the tamper bit seen for the first time; battery unchanged
  CHECK(leak[0].kind() == v1::EVENT_KIND_WATER_LEAK);
  CHECK(leak[0].water_leak().leak());
  CHECK(leak[1].device_health().condition() == v1::DeviceHealthPayload::CONDITION_TAMPER_CLEARED);
  CHECK(leak[1].device_health().link_quality() == 110);

  auto cleared = tasmota.events(topic, R"({"ZbReceived":{"0x898E":{"Device":"0x898E","0500<00":"000000FF0000",
      "ZoneStatusChange":0,"Endpoint":1,"LinkQuality":110}}})");
  REQUIRE(cleared.size() == 1);
  CHECK_FALSE(cleared[0].water_leak().leak());
}

TEST_CASE("tasmota Zigbee Contact 1 is an open door and 0 a closed one, the opposite of Zigbee2MQTT",
          "[drivers][tasmota]") {
  Tasmota tasmota;
  auto closed = tasmota.events("tele/SonoffZB/SENSOR", R"({"ZbReceived":{"0x662E":{"Device":"0x662E",
      "Name":" door_sensor","0500<00":"200000010000","ZoneStatusChange":32,"ZoneStatusChangeZone":1,"Contact":0,
      "Endpoint":1,"LinkQuality":157}}})");
  REQUIRE(closed.size() == 3);
  CHECK(closed[0].kind() == v1::EVENT_KIND_DOOR);
  CHECK(closed[0].device_id() == "door_sensor");  // the ZbName, without the space the user typed
  CHECK_FALSE(closed[0].door().open());
  // ZoneStatusChange 32 (0x20, restore reports): battery and tamper bits clear.
  CHECK(closed[1].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_OK);
  CHECK_FALSE(closed[1].device_health().has_battery_percent());
  CHECK(closed[1].device_health().link_quality() == 157);
  CHECK(closed[2].device_health().condition() == v1::DeviceHealthPayload::CONDITION_TAMPER_CLEARED);

  auto opened = tasmota.events("tele/SonoffZB/SENSOR", R"({"ZbReceived":{"0xCBA4":{"Device":"0xCBA4",
      "Name":" Tuya_Door_Sensor","0500<00":"010000010000","ZoneStatusChange":1,"ZoneStatusChangeZone":1,"Contact":1,
      "Endpoint":1,"LinkQuality":139}}})");
  REQUIRE(opened.size() == 3);
  CHECK(opened[0].kind() == v1::EVENT_KIND_DOOR);
  CHECK(opened[0].device_id() == "Tuya_Door_Sensor");
  CHECK(opened[0].door().open());
  CHECK(opened[1].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_OK);
  CHECK(opened[2].device_health().condition() == v1::DeviceHealthPayload::CONDITION_TAMPER_CLEARED);

  // The same sensor closing again.
  auto closing = tasmota.events("tele/SonoffZB/SENSOR", R"({"ZbReceived":{"0xCBA4":{"Device":"0xCBA4",
      "Name":" Tuya_Door_Sensor","ZoneStatusChange":0,"Contact":0,"LinkQuality":139}}})");
  REQUIRE(closing.size() == 1);
  CHECK_FALSE(closing[0].door().open());
}

TEST_CASE("tasmota wired reed Switch1 ON is a closed door, with its local Time converted to UTC",
          "[drivers][tasmota]") {
  Tasmota tasmota;
  auto closed = tasmota.events("tele/tasmota/SENSOR", R"({"Time":"2021-01-01T00:00:01","Switch1":"ON"})");
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].kind() == v1::EVENT_KIND_DOOR);
  CHECK(closed[0].device_id() == "tasmota");  // the Tasmota topic
  CHECK_FALSE(closed[0].door().open());
  CHECK(closed[0].sensor_time().seconds() == utc(2020, 12, 31, 16, 0, 1));  // default site offset +08:00

  auto opened = tasmota.events("tele/tasmota/SENSOR", R"({"Time":"2021-01-01T00:00:09","Switch1":"OFF"})");
  REQUIRE(opened.size() == 1);
  CHECK(opened[0].door().open());

  // SetOption114 form; a second input of the same Tasmota is a state of its own.
  auto second = tasmota.events("tele/tasmota/SENSOR", R"({"Switch2":{"Action":"OFF"}})");
  REQUIRE(second.size() == 1);
  CHECK(second[0].device_id() == "tasmota");
  CHECK(second[0].door().open());
  CHECK(tasmota.events("tele/tasmota/SENSOR", R"({"Switch1":"OFF","Switch2":{"Action":"OFF"}})").empty());
}

TEST_CASE("tasmota Zigbee occupancy becomes presence, including the timer's Occupancy 0", "[drivers][tasmota]") {
  Tasmota tasmota;
  auto present = tasmota.events("tele/SonoffZB/SENSOR", R"({"ZbReceived":{"0x057B":{"Device":"0x057B",
      "Name":" motion_sensor","Occupancy":1,"Endpoint":1,"LinkQuality":105}}})");
  REQUIRE(present.size() == 1);  // no battery or zone status: no health event
  CHECK(present[0].kind() == v1::EVENT_KIND_PRESENCE);
  CHECK(present[0].device_id() == "motion_sensor");
  CHECK(present[0].presence().present());
  CHECK(present[0].presence().motion() == v1::PresencePayload::MOTION_UNSPECIFIED);

  auto absent = tasmota.events(
      "tele/SonoffZB/SENSOR", R"({"ZbReceived":{"0x057B":{"Device":"0x057B","Name":" motion_sensor","Occupancy":0}}})");
  REQUIRE(absent.size() == 1);
  CHECK_FALSE(absent[0].presence().present());
}

TEST_CASE("tasmota LD2410 radar energy and LD2410S people count become presence", "[drivers][tasmota]") {
  Tasmota tasmota;
  auto ld2410 =
      tasmota.events("tele/tasmota_1A2B3C/SENSOR",
                     R"({"Time":"2024-11-09T12:52:46","LD2410":{"Distance":[200.0,181.0,144.0],"Energy":[13,100]}})");
  REQUIRE(ld2410.size() == 1);
  CHECK(ld2410[0].kind() == v1::EVENT_KIND_PRESENCE);
  CHECK(ld2410[0].device_id() == "tasmota_1A2B3C");
  CHECK(ld2410[0].presence().present());
  CHECK(ld2410[0].sensor_time().seconds() == utc(2024, 11, 9, 4, 52, 46));
  // Sent every second while someone is there: only the change counts.
  CHECK(
      tasmota.events("tele/tasmota_1A2B3C/SENSOR", R"({"LD2410":{"Distance":[190,170,144],"Energy":[0,87]}})").empty());
  auto left = tasmota.events("tele/tasmota_1A2B3C/SENSOR", R"({"LD2410":{"Distance":[0,0,0],"Energy":[0,0]}})");
  REQUIRE(left.size() == 1);
  CHECK_FALSE(left[0].presence().present());

  Tasmota other;
  auto ld2410s = other.events("tele/tasmota_1A2B3C/SENSOR",
                              R"({"Time":"2024-11-09T15:46:09","LD2410S":{"Distance":196.0, "People":2}})");
  REQUIRE(ld2410s.size() == 1);
  CHECK(ld2410s[0].presence().present());
  CHECK(ld2410s[0].sensor_time().seconds() == utc(2024, 11, 9, 7, 46, 9));
  auto nobody = other.events("tele/tasmota_1A2B3C/SENSOR", R"({"LD2410S":{"Distance":0.0,"People":1}})");
  REQUIRE(nobody.size() == 1);  // People 0/1 both mean nobody
  CHECK_FALSE(nobody[0].presence().present());
}

TEST_CASE("tasmota LWT and the STATE heartbeat report availability only when it changes", "[drivers][tasmota]") {
  Tasmota tasmota;
  auto online = tasmota.events("tele/tasmota_XXXXXX/LWT", "Online");
  REQUIRE(online.size() == 1);
  CHECK(online[0].kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(online[0].device_id() == "tasmota_XXXXXX");
  CHECK(online[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  const std::string state =
      R"({"Time":"2021-12-02T10:35:15","Uptime":"0T01:55:09","UptimeSec":6909,"Heap":27,"Wifi":{"RSSI":100,"Signal":-41}})";
  CHECK(tasmota.events("tele/tasmota_XXXXXX/STATE", state).empty());  // already online
  auto offline = tasmota.events("tele/tasmota_XXXXXX/LWT", "Offline");
  REQUIRE(offline.size() == 1);
  CHECK(offline[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_OFFLINE);
  CHECK(tasmota.events("tele/tasmota_XXXXXX/LWT", "Offline").empty());
  // A heartbeat after the will: the device is back even if its Online was missed.
  auto back = tasmota.events("tele/tasmota_XXXXXX/STATE", state);
  REQUIRE(back.size() == 1);
  CHECK(back[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  CHECK(back[0].sensor_time().seconds() == utc(2021, 12, 2, 2, 35, 15));

  // The bridge's first STATE, with no LWT seen before.
  auto first = tasmota.events("tele/SonoffZB/STATE", state);
  REQUIRE(first.size() == 1);
  CHECK(first[0].device_id() == "SonoffZB");
  CHECK(first[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_ONLINE);
  // The retained LWT deleted (a retired device) is not a state.
  CHECK(tasmota.events("tele/SonoffZB/LWT", "").empty());
}

TEST_CASE("tasmota Zigbee battery fields of old and new firmware both become device health", "[drivers][tasmota]") {
  Tasmota tasmota;
  // SetOption83 keys the object by friendly name; SetOption89 adds the short address to the topic.
  auto docs_example = tasmota.events("tele/zbbridge/8F20/SENSOR", R"({"ZbReceived":{"Kitchen":{"Device":"0x8F20",
      "Voltage":2.995,"Battery":98,"Temperature":21.01,"Humidity":53.68,"Pressure":1004.04,"PressureUnit":"hPa",
      "Endpoint":1,"LinkQuality":88}}})");
  REQUIRE(docs_example.size() == 1);
  CHECK(docs_example[0].kind() == v1::EVENT_KIND_DEVICE_HEALTH);
  CHECK(docs_example[0].device_id() == "Kitchen");
  CHECK(docs_example[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_OK);
  CHECK(docs_example[0].device_health().battery_percent() == 98);
  CHECK(docs_example[0].device_health().link_quality() == 88);

  CHECK(tasmota.events("tele/zbbridge/8F20/SENSOR", R"({"ZbReceived":{"Kitchen":{"Battery":97}}})").empty());
  auto low = tasmota.events("tele/zbbridge/8F20/SENSOR", R"({"ZbReceived":{"Kitchen":{"BatteryPercentage":15}}})");
  REQUIRE(low.size() == 1);
  CHECK(low[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_LOW);
  CHECK(low[0].device_health().battery_percent() == 15);
}

TEST_CASE("tasmota Zigbee IAS alarms: panic, fire, CO and the tamper and battery bits of the zone status",
          "[drivers][tasmota]") {
  Tasmota tasmota;
  const std::string topic = "tele/zbbridge/SENSOR";
  auto panic = tasmota.events(topic, R"({"ZbReceived":{"0x1111":{"Name":"pendant","Panic":1}}})");
  REQUIRE(panic.size() == 1);
  CHECK(panic[0].kind() == v1::EVENT_KIND_SOS_CALL);
  CHECK(panic[0].sos().active());
  CHECK(panic[0].sos().vendor_action() == "Panic");
  auto personal = tasmota.events(topic, R"({"ZbReceived":{"0x2222":{"Name":"button","PersonalAlarm":1}}})");
  REQUIRE(personal.size() == 1);
  CHECK(personal[0].sos().vendor_action() == "PersonalAlarm");
  auto clear = tasmota.events(topic, R"({"ZbReceived":{"0x1111":{"Name":"pendant","Panic":0}}})");
  REQUIRE(clear.size() == 1);
  CHECK_FALSE(clear[0].sos().active());

  auto fire = tasmota.events(topic, R"({"ZbReceived":{"0x3333":{"Name":"smoke","Fire":1}}})");
  REQUIRE(fire.size() == 1);
  CHECK(fire[0].kind() == v1::EVENT_KIND_SMOKE);
  CHECK(fire[0].smoke().alarm());
  auto co = tasmota.events(topic, R"({"ZbReceived":{"0x4444":{"Name":"co","CO":true}}})");
  REQUIRE(co.size() == 1);
  CHECK(co[0].kind() == v1::EVENT_KIND_GAS);
  CHECK(co[0].gas().alarm());

  // Bit 2 tamper, bit 3 battery low; the zone status beats the percentage.
  auto tampered = tasmota.events(topic, R"({"ZbReceived":{"0x3333":{"Name":"smoke","ZoneStatusChange":13,
      "BatteryPercentage":80}}})");
  REQUIRE(tampered.size() == 2);  // fire already reported
  CHECK(tampered[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_LOW);
  CHECK(tampered[0].device_health().battery_percent() == 80);
  CHECK(tampered[1].device_health().condition() == v1::DeviceHealthPayload::CONDITION_TAMPER);
}

TEST_CASE("tasmota bare zone status from a device of unknown kind reports health but no alarm", "[drivers][tasmota]") {
  Tasmota tasmota;
  auto events = tasmota.events("tele/zbbridge/SENSOR", R"({"ZbReceived":{"0x5555":{"ZoneStatusChange":1}}})");
  REQUIRE(events.size() == 2);
  CHECK(events[0].device_health().condition() == v1::DeviceHealthPayload::CONDITION_BATTERY_OK);
  CHECK(events[1].device_health().condition() == v1::DeviceHealthPayload::CONDITION_TAMPER_CLEARED);
}

TEST_CASE("tasmota repeated identical states produce no repeated events", "[drivers][tasmota]") {
  Tasmota tasmota;
  const std::string topic = "tele/SonoffZB/SENSOR";
  const std::string open =
      R"({"ZbReceived":{"0xCBA4":{"Name":"door","Contact":1,"BatteryPercentage":90,"LinkQuality":139}}})";
  CHECK(tasmota.events(topic, open).size() == 2);  // first: door + battery
  CHECK(tasmota.events(topic, open).empty());
  CHECK(tasmota
            .events(topic,
                    R"({"ZbReceived":{"0xCBA4":{"Name":"door","Contact":1,"BatteryPercentage":89,"LinkQuality":120}}})")
            .empty());  // no low-battery crossing, LQI drift
  CHECK(tasmota.events(topic, R"({"ZbReceived":{"0xCBA4":{"Name":"door","LinkQuality":120}}})")
            .empty());  // absent: unchanged
  CHECK(tasmota.events("tele/tasmota/SENSOR", R"({"Switch1":"ON"})").size() == 1);
  CHECK(tasmota.events("tele/tasmota/SENSOR", R"({"Time":"2021-01-01T00:05:00","Switch1":"ON"})").empty());
  CHECK(tasmota.events("tele/tasmota/LWT", "Online").size() == 1);
  CHECK(tasmota.events("tele/tasmota/LWT", "Online").empty());
}

TEST_CASE("tasmota topics are recognised by their tele level wherever FullTopic puts it", "[drivers][tasmota]") {
  Tasmota tasmota;
  auto filters = tasmota.driver->topic_filters();
  auto routed = [&](const std::string& topic) {
    for (const auto& filter : filters)
      if (eg::drivers::topic_matches(filter, topic)) return true;
    return false;
  };
  CHECK(routed("tele/tasmota_1A2B3C/SENSOR"));
  CHECK(routed("tele/zbbridge/8F20/SENSOR"));
  CHECK(routed("/SonoffZigbeeBridge/898E/tele/SENSOR"));
  CHECK(routed("home/kitchen/tele/LWT"));
  CHECK_FALSE(routed("cmnd/tasmota/POWER"));
  CHECK_FALSE(routed("zigbee2mqtt/front_door"));

  auto prefixed = tasmota.events("home/hall/tele/SENSOR", R"({"Switch1":"OFF"})");
  REQUIRE(prefixed.size() == 1);
  CHECK(prefixed[0].device_id() == "home/hall");
  CHECK(tasmota.events("tele/tasmota/INFO1", R"({"Module":"Generic","Version":"13.1.0"})").empty());
  CHECK(
      tasmota.events("tele/tasmota/SENSOR", R"({"Time":"2021-01-01T00:00:00","AM2301":{"Temperature":21.5}})").empty());

  auto unsupported = tasmota.decode("stat/tasmota/RESULT", R"({"POWER":"ON"})");
  REQUIRE_FALSE(unsupported.ok());
  CHECK(unsupported.error().code == DecodeError::Code::kUnsupported);
  CHECK_FALSE(unsupported.error().reason.empty());
  CHECK_FALSE(tasmota.decode("tele/SENSOR", "{}").ok());  // no Tasmota topic

  Tasmota custom_prefix({"telemetry"});
  CHECK(custom_prefix.driver->topic_filters().front() == "telemetry/#");
  CHECK(custom_prefix.events("telemetry/hall/SENSOR", R"({"Switch1":"OFF"})").size() == 1);
}

TEST_CASE("tasmota Time uses the configured offset, a zone of its own, and is dropped before NTP sync",
          "[drivers][tasmota]") {
  Tasmota new_york({"tele", std::chrono::minutes(-5 * 60)});
  auto local = new_york.events("tele/a/SENSOR", R"({"Time":"2021-12-02T10:35:15","Switch1":"ON"})");
  CHECK(local.at(0).sensor_time().seconds() == utc(2021, 12, 2, 15, 35, 15));
  auto zoned = new_york.events("tele/b/SENSOR", R"({"Time":"2021-12-02T10:35:15+01:00","Switch1":"ON"})");
  CHECK(zoned.at(0).sensor_time().seconds() == utc(2021, 12, 2, 9, 35, 15));  // SetOption52

  Tasmota tasmota;
  auto unsynced = tasmota.events("tele/c/SENSOR", R"({"Time":"1970-01-01T00:00:03","Switch1":"ON"})");
  REQUIRE(unsynced.size() == 1);
  CHECK_FALSE(unsynced[0].has_sensor_time());
}

TEST_CASE("tasmota bad payloads are typed errors with a reason and change no state", "[drivers][tasmota]") {
  Tasmota tasmota;
  auto code_of = [&](const std::string& topic, const std::string& payload) {
    auto result = tasmota.decode(topic, payload);
    INFO(topic << " " << payload);
    REQUIRE_FALSE(result.ok());
    CHECK_FALSE(result.error().reason.empty());
    return result.error().code;
  };
  const std::string sensor = "tele/SonoffZB/SENSOR";
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":{"Contact":1)") == DecodeError::Code::kMalformed);  // truncated
  CHECK(code_of(sensor, "") == DecodeError::Code::kMalformed);
  CHECK(code_of(sensor, "\xff\xfe{}") == DecodeError::Code::kMalformed);
  CHECK(code_of(sensor, "[1,2]") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"ZbReceived":[]})") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":5}})") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":{"Contact":2}}})") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":{"Name":7,"Contact":1}}})") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":{"BatteryPercentage":"nan"}}})") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":{"BatteryPercentage":140}}})") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":{"LinkQuality":300}}})") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":{"ZoneStatusChange":1.5}}})") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"Switch1":"TOGGLE"})") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"LD2410":{"Energy":"high"}})") == DecodeError::Code::kWrongType);
  CHECK(code_of(sensor, R"({"LD2410":{"Energy":[13,170]}})") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(sensor, R"({"LD2410S":{"People":7}})") == DecodeError::Code::kOutOfRange);
  CHECK(code_of(sensor, R"({"Time":"yesterday","Switch1":"ON"})") == DecodeError::Code::kWrongType);
  CHECK(code_of("tele/SonoffZB/LWT", "Maybe") == DecodeError::Code::kMalformed);
  CHECK(code_of("tele/SonoffZB/STATE", R"({"Time":)") == DecodeError::Code::kMalformed);

  // One bad value rejects the whole message, and a rejected message changes no
  // remembered state: the door and the learned zone kind are still new.
  CHECK(code_of(sensor, R"({"ZbReceived":{"0xCBA4":{"Contact":1,"LinkQuality":-1}}})") ==
        DecodeError::Code::kOutOfRange);
  CHECK(tasmota.events(sensor, R"({"ZbReceived":{"0xCBA4":{"ZoneStatusChange":1}}})").size() == 2);  // health only
  auto door = tasmota.events(sensor, R"({"ZbReceived":{"0xCBA4":{"Contact":1}}})");
  REQUIRE(door.size() == 1);
  CHECK(door[0].door().open());
}

TEST_CASE("tasmota: an IAS zone status with the test bit is the detector's self-test",
          "[drivers][tasmota][self-test]") {
  Tasmota tasmota;
  const std::string topic = "tele/zigbee_bridge/SENSOR";
  tasmota.events(topic, R"({"ZbReceived":{"0x1A2B":{"Device":"0x1A2B","Name":"hall_smoke","Fire":0,
      "Endpoint":1,"LinkQuality":120}}})");
  // 0x101: alarm1 and test (ZCL IAS zone status bit 8).
  auto test = tasmota.events(topic, R"({"ZbReceived":{"0x1A2B":{"Device":"0x1A2B","Name":"hall_smoke",
      "ZoneStatusChange":257,"Endpoint":1,"LinkQuality":120}}})");
  REQUIRE_FALSE(test.empty());
  CHECK(test[0].kind() == v1::EVENT_KIND_SMOKE);
  CHECK(test[0].smoke().alarm());
  CHECK(test[0].self_test());
  auto real = tasmota.events(topic, R"({"ZbReceived":{"0x1A2B":{"Device":"0x1A2B","Name":"hall_smoke",
      "ZoneStatusChange":1,"Endpoint":1,"LinkQuality":120}}})");
  REQUIRE_FALSE(real.empty());  // the same alarm bit without the test bit: a real fire
  CHECK(real[0].smoke().alarm());
  CHECK_FALSE(real[0].self_test());
}
