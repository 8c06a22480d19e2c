// Typed, range-checked reading of JSON payload fields for the meter and
// wearable drivers, plus the vital-sign plausibility ranges they all share.
//
// A reader never throws and never stops at the first problem: it records the
// first type or range error (with the field's dotted path, so the reason names
// "data.value.bp_high" rather than "bp_high") and the driver rejects the whole
// message with that one reason before touching any cached state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "eg/drivers/driver.hpp"
#include "json_values.hpp"

namespace eg::drivers {

struct Range {
  double min;
  double max;
};

// What no real sensor reports on a living person; outside them the message is
// a decoding or device fault, kOutOfRange.
namespace vital_ranges {
inline constexpr Range kHeartRateBpm{20, 300};
inline constexpr Range kBreathingPerMin{0, 80};
inline constexpr Range kSpo2Percent{50, 100};
inline constexpr Range kSystolicMmhg{50, 300};
inline constexpr Range kDiastolicMmhg{20, 200};
inline constexpr Range kBodyTemperatureC{30, 45};
inline constexpr Range kBatteryPercent{0, 100};
}  // namespace vital_ranges

// The first error found in one message; shared by a reader and its children.
class FirstError {
 public:
  void fail(DecodeError::Code code, std::string reason) {
    if (!error_) error_ = DecodeError{code, std::move(reason)};
  }
  const std::optional<DecodeError>& error() const { return error_; }

 private:
  std::optional<DecodeError> error_;
};

class FieldReader {
 public:
  // `object` may be any JSON value; a non-object reads as having no fields.
  // `path` prefixes field names in reasons ("data.value").
  FieldReader(const nlohmann::json& object, FirstError& errors, std::string path = {});

  // The field, or nullptr when absent or null ("unknown", never "false").
  const nlohmann::json* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Each returns nullopt when the field is absent or unreadable; unreadable
  // (wrong type, out of range) also records the error.
  std::optional<double> number(std::string_view key);
  std::optional<double> number(std::string_view key, Range range);
  std::optional<std::string> text(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  // A device identity: a string, or an integer written as one (an IMEI sent
  // as a JSON number). Empty strings count as absent.
  std::optional<std::string> identity(std::string_view key);

  // A nested object: absent -> a reader with no fields; not an object -> a
  // wrong-type error and a reader with no fields.
  FieldReader child(std::string_view key);
  // A nested array; nullptr when absent or (with an error) not an array.
  const nlohmann::json* array(std::string_view key);

  std::string path_of(std::string_view key) const;
  void fail(DecodeError::Code code, std::string reason) { errors_->fail(code, std::move(reason)); }
  const std::optional<DecodeError>& error() const { return errors_->error(); }

 private:
  const nlohmann::json* object_;
  FirstError* errors_;
  std::string path_;
};

// Vital signs read from one message; each set only when the message has it.
struct VitalsReading {
  std::optional<double> heart_rate_bpm;
  std::optional<double> breathing_per_min;
  std::optional<double> spo2_percent;
  std::optional<double> systolic_mmhg;
  std::optional<double> diastolic_mmhg;
  std::optional<double> body_temperature_c;

  bool empty() const {
    return !heart_rate_bpm && !breathing_per_min && !spo2_percent && !systolic_mmhg && !diastolic_mmhg &&
           !body_temperature_c;
  }
  // Records kOutOfRange when diastolic is not below systolic: the two fields
  // swapped or a misread cuff, not a blood pressure.
  void check_pressure(FieldReader& in) const;
  void fill(eldercare::v1::VitalsPayload& out) const;
};

// A value for a rejection reason: JSON text (strings quoted), at most ~80
// bytes, cut on a UTF-8 character boundary so the reason stays valid UTF-8 for
// whoever serializes it.
std::string excerpt(const nlohmann::json& value);
std::string excerpt_text(std::string_view text);

// The event's content without what changes when the state does not: times and
// the retained flag. Used as a StateCache signature.
std::string content_signature(const eldercare::v1::SensorEvent& event);

}  // namespace eg::drivers
