// The site the scale benchmark simulates (scripts/bench): devices, residents
// and the message mix, shared by the load generator (payloads), scale_config
// (the daemon's [[devices]] and [[residents]]) and the upstream sink (the
// publish time each payload carries). One definition, so the three agree.
//
// Layout: N devices in rooms of five, one resident per room:
//   slot 0  Zigbee2MQTT vitals radar   zigbee2mqtt/room<R>_vitals    heart_rate, breathing_rate
//   slot 1  Zigbee2MQTT presence       zigbee2mqtt/room<R>_presence  occupancy
//   slot 2  Zigbee2MQTT door contact   zigbee2mqtt/room<R>_door      contact (true = closed)
//   slot 3  wM-Bus water meter         wmbusmeters/<8-digit id>      total_m3 (wmbusmeters JSON)
//   slot 4  one alarm device by room:  fall radar (fall_down_status), SOS button (state-style
//           "sos"), gas detector ("gas"), in turn
// Payload shapes follow ../shared/fixtures/sensor-payloads.json.
//
// Message mix (by message): 60 % vitals, 17 % presence, 12 % doors, 8 % water,
// 3 % to alarm devices. An alarm device alternates clear / alarm, so about
// 1.5 % of all messages are alarms (a fall, an SOS, a gas alarm).
//
// Every message must yield an event, because the sink counts messages by the
// events they became: the drivers report only a changed state, so each
// device's state moves with its own message counter k (a new heart rate, a
// toggled contact, a higher meter index). k = 0 is the warm-up message, which
// carries no time; measured messages carry their publish time as the
// publisher's own timestamp (Zigbee2MQTT last_seen, wmbusmeters timestamp),
// ISO 8601 in UTC with microseconds, which the drivers turn into
// SensorEvent.sensor_time. So the sink gets every message's publish time back
// from the daemon's protobuf, and from the relay's raw JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eg::bench::scale {

enum class Role { kVitals, kPresence, kDoor, kWater, kFall, kSos, kGas };
constexpr int kSlotsPerRoom = 5;

struct Device {
  Role role;
  std::string id;     // as the driver names it: friendly name, meter id
  std::string topic;  // where the sensor publishes
  std::string room;
  std::string resident;
  std::string bed;  // the bed's sensors only
};

struct Resident {
  std::string id;
  bool living_alone;     // enables the absence rules (no movement, no water)
  bool own_heart_limit;  // a per-resident override, as config/gateway.toml shows
};

inline std::uint64_t mix64(std::uint64_t x) {  // splitmix64: the mix is a pure function of the seed
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Room r (0-based): 40 rooms a floor, "101".."140", "201"...
inline std::string room_name(int r) {
  return std::to_string((r / 40 + 1) * 100 + r % 40 + 1);
}

inline std::vector<Device> make_devices(int count) {
  std::vector<Device> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    int r = i / kSlotsPerRoom;
    Device d;
    d.room = room_name(r);
    d.resident = "r-" + d.room;
    // Names are appended, not "literal" + std::string&&: g++ 12 -O3 warns
    // falsely (-Wrestrict) on the latter.
    std::string name = "room";
    name += d.room;
    switch (i % kSlotsPerRoom) {
      case 0:
        d.role = Role::kVitals;
        d.id = name + "_vitals";
        d.bed.push_back('A');  // not = "A": g++ 12 -Wrestrict false positive
        break;
      case 1:
        d.role = Role::kPresence;
        d.id = name + "_presence";
        break;
      case 2:
        d.role = Role::kDoor;
        d.id = name + "_door";
        break;
      case 3: {
        d.role = Role::kWater;
        char id[16];
        std::snprintf(id, sizeof id, "3322%04d", r % 10000);
        d.id = id;
        break;
      }
      default:
        d.role = r % 3 == 0 ? Role::kFall : r % 3 == 1 ? Role::kSos : Role::kGas;
        d.id = name + (d.role == Role::kFall ? "_fall" : d.role == Role::kSos ? "_sos" : "_gas");
        if (d.role == Role::kFall) d.bed.push_back('A');
        break;
    }
    d.topic = d.role == Role::kWater ? "wmbusmeters/" : "zigbee2mqtt/";
    d.topic += d.id;
    out.push_back(std::move(d));
  }
  return out;
}

inline std::vector<Resident> make_residents(int device_count) {
  std::vector<Resident> out;
  int rooms = (device_count + kSlotsPerRoom - 1) / kSlotsPerRoom;
  for (int r = 0; r < rooms; ++r) out.push_back({"r-" + room_name(r), r % 5 == 0, r % 10 == 3});
  return out;
}

// Picks the device of the i-th message: a role by the mix above, then one
// device of that role, uniformly. Indexes into make_devices(count).
class MessageMix {
 public:
  explicit MessageMix(const std::vector<Device>& devices) {
    for (std::size_t i = 0; i < devices.size(); ++i) {
      Role role = devices[i].role;
      by_group_[role == Role::kFall || role == Role::kSos || role == Role::kGas ? 4 : static_cast<int>(role)].push_back(
          i);
    }
  }
  std::size_t pick(std::uint64_t seed, std::uint64_t i) const {
    std::uint64_t r = mix64(seed * 0x100000001b3ULL + i);
    unsigned percent = static_cast<unsigned>(r % 100);
    // Cumulative shares: vitals 60, presence 17, doors 12, water 8, alarm devices 3.
    int group = percent < 60 ? 0 : percent < 77 ? 1 : percent < 89 ? 2 : percent < 97 ? 3 : 4;
    while (by_group_[group].empty()) group = (group + 1) % 5;  // tiny sites lack some roles
    const auto& members = by_group_[group];
    return members[(r >> 20) % members.size()];
  }

 private:
  std::vector<std::size_t> by_group_[5];
};

// Microseconds since the Unix epoch as ISO 8601 UTC: "2026-01-01T00:00:00.000000Z".
inline std::string iso_utc_us(std::int64_t us) {
  std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[64];  // room for any year the compiler can imagine (-Wformat-truncation)
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(us % 1'000'000));
  return text;
}

// The inverse of iso_utc_us, for the relay's raw payloads; nullopt for any
// other shape (and for wmbusmeters' placeholder 1111-11-11T11:11:11Z).
inline std::optional<std::int64_t> parse_iso_utc_us(std::string_view text) {
  if (text.size() != 27 || text[4] != '-' || text[10] != 'T' || text[19] != '.' || text[26] != 'Z') return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) {
    long v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1L;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  long y = number(0, 4), mo = number(5, 2), d = number(8, 2), h = number(11, 2), mi = number(14, 2), s = number(17, 2),
       us = number(20, 6);
  if (y < 2000 || mo < 1 || d < 1 || h < 0 || mi < 0 || s < 0 || us < 0) return std::nullopt;
  std::tm tm{};
  tm.tm_year = static_cast<int>(y - 1900);
  tm.tm_mon = static_cast<int>(mo - 1);
  tm.tm_mday = static_cast<int>(d);
  tm.tm_hour = static_cast<int>(h);
  tm.tm_min = static_cast<int>(mi);
  tm.tm_sec = static_cast<int>(s);
  return static_cast<std::int64_t>(::timegm(&tm)) * 1'000'000 + us;
}

// The k-th message of a device (k = 0: the warm-up message, no time). Sets
// `alarm` when the message raises an alarm (fall, SOS, gas).
inline std::string payload(const Device& d, std::uint64_t k, std::optional<std::int64_t> publish_us, bool& alarm) {
  alarm = false;
  const bool odd = k % 2 == 1;
  std::string time;
  if (d.role == Role::kWater) {
    time = publish_us ? iso_utc_us(*publish_us) : std::string("1111-11-11T11:11:11Z");  // the "no time" placeholder
  } else if (publish_us) {
    time = ",\"last_seen\":\"" + iso_utc_us(*publish_us) + "\"";
  }
  char text[320];
  switch (d.role) {
    case Role::kVitals:  // every message a new heart rate: 58..102 bpm, 12..20 /min, below every vitals rule
      std::snprintf(text, sizeof text, R"({"heart_rate":%d,"breathing_rate":%d,"linkquality":140%s})",
                    static_cast<int>(58 + (k * 7) % 45), static_cast<int>(12 + k % 9), time.c_str());
      break;
    case Role::kPresence:
      std::snprintf(text, sizeof text, R"({"occupancy":%s,"illuminance":%d,"linkquality":96%s})",
                    odd ? "false" : "true", static_cast<int>(20 + k % 50), time.c_str());
      break;
    case Role::kDoor:
      std::snprintf(
          text, sizeof text,
          R"({"contact":%s,"tamper":false,"battery_low":false,"battery":100,"voltage":3025,"linkquality":90%s})",
          odd ? "false" : "true", time.c_str());
      break;
    case Role::kWater:  // 1 litre more each telegram
      std::snprintf(
          text, sizeof text,
          R"({"_":"telegram","media":"water","meter":"iperl","name":"tap_%s","id":"%s","max_flow_m3h":0,"total_m3":%.3f,"timestamp":"%s"})",
          d.room.c_str(), d.id.c_str(), 120.0 + static_cast<double>(k) / 1000.0, time.c_str());
      break;
    case Role::kFall:
      alarm = odd;
      std::snprintf(
          text, sizeof text,
          R"({"fall_down_status":"%s","presence":true,"motion_direction":"standing_still","fall_sensitivity":5,"linkquality":120%s})",
          odd ? "fall" : "none", time.c_str());
      break;
    case Role::kSos:
      alarm = odd;
      std::snprintf(text, sizeof text,
                    R"({"sos":%s,"tamper":false,"battery_low":false,"battery":100,"linkquality":110%s})",
                    odd ? "true" : "false", time.c_str());
      break;
    case Role::kGas:
      alarm = odd;
      std::snprintf(text, sizeof text, R"({"gas":%s,"tamper":false,"battery_low":false,"linkquality":87%s})",
                    odd ? "true" : "false", time.c_str());
      break;
  }
  return text;
}

}  // namespace eg::bench::scale
