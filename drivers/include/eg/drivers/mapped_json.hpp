// The mapped-JSON driver: lets an installer add a JSON device without C++, by
// describing in config where each field lives (JSON pointers) and how vendor
// values map onto ours. One spec makes one driver instance.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eg/common/result.hpp"
#include "eg/drivers/driver.hpp"

namespace eg::drivers {

struct MappedField {
  // Our field, by the kind's payload: vitals heart_rate_bpm, breathing_rate_per_min,
  // spo2_percent, systolic_mmhg, diastolic_mmhg, body_temperature_celsius; fall
  // state (none|suspected|detected); gas/smoke alarm; water_leak leak; sos active;
  // door open; presence present; bed state (in_bed|out_of_bed|sitting);
  // water_meter total_m3, flow_m3h; device_health battery_percent.
  std::string target;
  std::string pointer;  // RFC 6901 JSON pointer into the payload, e.g. "/data/hr"
  // Vendor value (a string as itself, anything else as JSON text: "ALARM", "1",
  // "true") -> our value
  // ("true"/"false" for booleans, the enum word for states). Empty: take as is.
  std::map<std::string, std::string> values;
  double scale = 1;  // numbers: ours = vendor * scale + offset (unit conversion)
  double offset = 0;
};

struct MappedSpec {
  std::string name;                  // used in metrics and SensorEvent.driver
  std::vector<std::string> filters;  // MQTT topic filters
  std::string device_pointer;        // JSON pointer to the device id...
  int device_topic_level = -1;       // ...or the 0-based topic level holding it
  eldercare::v1::EventKind kind = eldercare::v1::EVENT_KIND_UNSPECIFIED;
  std::vector<MappedField> fields;
};

// Validates the spec (targets fit the kind, value maps hold our words,
// pointers are well-formed) and builds the driver; an Error says what is wrong.
Result<std::unique_ptr<Driver>> make_mapped_json_driver(MappedSpec spec);

// "vitals" -> EVENT_KIND_VITALS; UNSPECIFIED for an unknown word.
eldercare::v1::EventKind event_kind_from_word(std::string_view word);

}  // namespace eg::drivers
