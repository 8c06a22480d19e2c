// wmbusmeters driver: wireless M-Bus water meters and smoke detectors.
//
// Topics: wmbusmeters has no MQTT client of its own. A shell= line runs once
// per decoded telegram, typically
//   mosquitto_pub -t wmbusmeters/$METER_ID -m "$METER_JSON"
// so the topic is whatever the installer wrote ("wmbusmeters/<id>",
// "wmbusmeters/<name>", "water", "tele/wasser/verbrauch"). The driver listens
// on <base>/# (base defaults to "wmbusmeters") and decodes every telegram routed
// to it without reading anything from the topic. The alarmshell= topic carries
// dongle problems as plain text, not meter data; it is not subscribed to.
//
// Telegram (one JSON object): "_":"telegram" (3.x; absent in 1.x output; any
// other "_" value is not a meter reading and is ignored), media, meter (driver
// name), name, id, timestamp (UTC ISO 8601), then the driver's fields, their
// unit in the key suffix. Device id = id (8 digits, a string), else name.
// sensor_time = timestamp, except the test-suite placeholder
// 1111-11-11T11:11:11Z, which means "no time" and leaves it unset.
//
// media containing "water" (water, cold water, warm water, ...) -> WATER_METER:
//   total_m3      monotonic meter index, m3 (total_l: litres, converted)
//   flow_m3h      current flow, m3/h, may be slightly negative (flow_lh: l/h,
//                 converted). max_flow_m3h is a maximum over some period, not
//                 the current flow, and is not reported as flow.
//   status_flags  Kamstrup/Diehl `status` (1.x: `current_status`), space-joined
//                 flags, and IZAR `current_alarms`, comma-joined; "OK" and
//                 "no_alarm" mean no flag. previous_alarms is history, skipped.
//   Readings are consumption data, so every telegram whose total, flow or
//   flags differ from the device's last reported ones produces an event; an
//   identical repeat (same index, same flow, same flags) does not.
//
// media "smoke detector" (ei6500, qsmoke, ...) -> SMOKE alarm=true, inferred:
//   the meter reports alarm history (alarm_counter, last_alarm_date), not a
//   live siren state. An alarm_counter higher than in the device's previous
//   telegram, or a changed last_alarm_date ("2000-01-01" means never), means
//   an alarm happened since that telegram. The first telegram only establishes
//   the history and reports nothing. This is NOT a real-time siren event: it
//   arrives with the next telegram, minutes after the alarm. There is no clear.
//   A test_button_counter that rose in the same telegram marks it self_test:
//   within one telegram the history cannot tell the monthly test from a fire.
//
// Other media (heat, gas, electricity ...) are valid telegrams of meters this
// gateway does not model; they produce no events.
#include "wmbusmeters.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

#include "event_builder.hpp"
#include "field_reader.hpp"

namespace eg::drivers {
namespace {

using eldercare::v1::SensorEvent;
using nlohmann::json;
namespace jv = json_values;

constexpr std::string_view kPlaceholderTimestamp = "1111-11-11T11:11:11Z";
constexpr std::string_view kNeverDate = "2000-01-01";
constexpr Range kTotalM3{0, 1e9};
constexpr Range kFlowM3h{-1e5, 1e5};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Appends the flags in `text`, split on spaces and commas, skipping the
// "nothing to report" values and repeats.
void add_flags(std::string_view text, std::vector<std::string>& flags) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find_first_of(" ,", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string flag(text.substr(pos, end - pos));
    pos = end + 1;
    if (flag.empty() || flag == "OK" || flag == "no_alarm") continue;
    if (std::find(flags.begin(), flags.end(), flag) == flags.end()) flags.push_back(std::move(flag));
  }
}

// A quantity read from `key_m3` in m3 or, failing that, from `key_litres` in
// litres. Ranges are in m3 either way.
std::optional<double> cubic_metres(FieldReader& in, const char* key_m3, const char* key_litres, Range range) {
  if (in.has(key_m3)) return in.number(key_m3, range);
  if (auto litres = in.number(key_litres, Range{range.min * 1000, range.max * 1000})) return *litres / 1000;
  return std::nullopt;
}

}  // namespace

WmbusmetersDriver::WmbusmetersDriver(std::string base_topic) : base_topic_(std::move(base_topic)) {}

DecodeResult WmbusmetersDriver::decode(const Message& message) {
  auto doc = json::parse(message.payload, nullptr, false);
  if (doc.is_discarded()) return DecodeError{DecodeError::Code::kMalformed, "invalid JSON"};
  if (!doc.is_object()) return DecodeError{DecodeError::Code::kWrongType, "telegram is not a JSON object"};

  FirstError errors;
  FieldReader in(doc, errors);
  if (auto kind = in.text("_"); kind && *kind != "telegram") return Events{};
  auto media = in.text("media");
  auto device = in.identity("id");
  if (!device) device = in.text("name");
  std::optional<WallTime> sensor_time;
  if (auto stamp = in.text("timestamp"); stamp && *stamp != kPlaceholderTimestamp) {
    sensor_time = jv::parse_iso8601(*stamp);
    if (!sensor_time)
      errors.fail(DecodeError::Code::kWrongType, "timestamp is not ISO 8601 UTC (" +
                                                     jv::parse_iso8601_explained(*stamp).problem +
                                                     "): " + excerpt_text(*stamp));
  }
  if (errors.error()) return *errors.error();
  if (!media) return DecodeError{DecodeError::Code::kMalformed, "telegram has no media"};
  if (!device || device->empty()) return DecodeError{DecodeError::Code::kMalformed, "telegram has neither id nor name"};

  auto make = [&](eldercare::v1::EventKind kind) {
    SensorEvent event = make_event(message, name(), *device, kind);
    if (sensor_time) *event.mutable_sensor_time() = to_timestamp(*sensor_time);
    return event;
  };
  std::string medium = lower(*media);

  if (medium.find("water") != std::string::npos) {
    auto total = cubic_metres(in, "total_m3", "total_l", kTotalM3);
    auto flow = cubic_metres(in, "flow_m3h", "flow_lh", kFlowM3h);
    std::vector<std::string> flags;
    for (const char* key : {"status", "current_status", "current_alarms"})
      if (auto text = in.text(key)) add_flags(*text, flags);
    if (errors.error()) return *errors.error();
    if (!total && !flow && flags.empty()) return Events{};

    SensorEvent event = make(eldercare::v1::EVENT_KIND_WATER_METER);
    auto* meter = event.mutable_water_meter();
    if (total) meter->set_total_m3(*total);
    if (flow) meter->set_flow_m3h(*flow);
    for (auto& flag : flags) meter->add_status_flags(std::move(flag));
    if (!cache_.changed(*device, "water_meter", content_signature(event))) return Events{};
    return Events{std::move(event)};
  }

  if (medium == "smoke detector") {
    auto counter = in.number("alarm_counter", Range{0, 1e9});
    if (counter && *counter != std::floor(*counter))
      errors.fail(DecodeError::Code::kWrongType, "alarm_counter is not a whole number: " + json(*counter).dump());
    auto date = in.text("last_alarm_date");
    auto tests = in.number("test_button_counter", Range{0, 1e9});
    if (errors.error()) return *errors.error();
    cache_.note_heard(*device);  // its periodic telegram: alive, whatever it says
    if (!counter && !date) return Events{};

    SmokeHistory& history = smoke_[*device];
    bool alarmed = (counter && history.alarm_counter && *counter > *history.alarm_counter) ||
                   (date && history.last_alarm_date && *date != *history.last_alarm_date && *date != kNeverDate);
    // The test button pressed since the last telegram: the alarm history
    // cannot tell a test from a fire within one telegram, and the sounder
    // test is what happened (the caretaker's monthly check).
    bool tested = tests && history.test_button_counter && *tests > *history.test_button_counter;
    if (counter) history.alarm_counter = counter;
    if (date) history.last_alarm_date = date;
    if (tests) history.test_button_counter = tests;
    if (!alarmed) return Events{};
    SensorEvent event = make(eldercare::v1::EVENT_KIND_SMOKE);
    event.mutable_smoke()->set_alarm(true);
    if (tested) {
      event.set_self_test(true);
      event.mutable_smoke()->set_test(true);
    }
    return Events{std::move(event)};
  }

  return Events{};
}

}  // namespace eg::drivers
