#include "field_reader.hpp"

namespace eg::drivers {

using nlohmann::json;
namespace jv = json_values;

namespace {

const json& empty_object() {
  static const json empty = json::object();
  return empty;
}

constexpr std::size_t kExcerptBytes = 80;

// Numbers in reasons without trailing zeros ("[20, 300]", not "[20.000000, ...]").
std::string number_text(double v) {
  return json(v).dump();
}

}  // namespace

std::string excerpt_text(std::string_view text) {
  if (text.size() <= kExcerptBytes) return std::string(text);
  std::size_t cut = kExcerptBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // continuation byte
  return std::string(text.substr(0, cut)) + "...";
}

std::string excerpt(const json& value) {
  // dump() cannot throw here: the parser only accepts valid UTF-8.
  return excerpt_text(value.dump());
}

FieldReader::FieldReader(const json& object, FirstError& errors, std::string path)
    : object_(object.is_object() ? &object : &empty_object()), errors_(&errors), path_(std::move(path)) {}

std::string FieldReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const json* FieldReader::find(std::string_view key) const {
  auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<double> FieldReader::number(std::string_view key) {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  auto n = jv::as_number(*v);
  if (!n) fail(DecodeError::Code::kWrongType, path_of(key) + " is not a number: " + excerpt(*v));
  return n;
}

std::optional<double> FieldReader::number(std::string_view key, Range range) {
  auto n = number(key);
  if (n && (*n < range.min || *n > range.max)) {
    fail(DecodeError::Code::kOutOfRange, path_of(key) + " " + number_text(*n) + " is outside [" +
                                             number_text(range.min) + ", " + number_text(range.max) + "]");
    return std::nullopt;
  }
  return n;
}

std::optional<std::string> FieldReader::text(std::string_view key) {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  auto s = jv::as_string(*v);
  if (!s) fail(DecodeError::Code::kWrongType, path_of(key) + " is not a string: " + excerpt(*v));
  return s;
}

std::optional<bool> FieldReader::boolean(std::string_view key) {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  auto b = jv::as_bool(*v);
  if (!b) fail(DecodeError::Code::kWrongType, path_of(key) + " is not a boolean: " + excerpt(*v));
  return b;
}

std::optional<std::string> FieldReader::identity(std::string_view key) {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    if (s.empty()) return std::nullopt;
    return s;
  }
  if (v->is_number_unsigned()) return std::to_string(v->get<unsigned long long>());
  if (v->is_number_integer() && v->get<long long>() >= 0) return std::to_string(v->get<long long>());
  fail(DecodeError::Code::kWrongType, path_of(key) + " is not an identifier: " + excerpt(*v));
  return std::nullopt;
}

FieldReader FieldReader::child(std::string_view key) {
  const json* v = find(key);
  if (v != nullptr && !v->is_object()) {
    fail(DecodeError::Code::kWrongType, path_of(key) + " is not an object: " + excerpt(*v));
    v = nullptr;
  }
  return FieldReader(v != nullptr ? *v : empty_object(), *errors_, path_of(key));
}

const json* FieldReader::array(std::string_view key) {
  const json* v = find(key);
  if (v != nullptr && !v->is_array()) {
    fail(DecodeError::Code::kWrongType, path_of(key) + " is not an array: " + excerpt(*v));
    return nullptr;
  }
  return v;
}

void VitalsReading::check_pressure(FieldReader& in) const {
  if (systolic_mmhg && diastolic_mmhg && *diastolic_mmhg >= *systolic_mmhg)
    in.fail(DecodeError::Code::kOutOfRange, "diastolic pressure " + number_text(*diastolic_mmhg) +
                                                " mmHg is not below systolic " + number_text(*systolic_mmhg) + " mmHg");
}

void VitalsReading::fill(eldercare::v1::VitalsPayload& out) const {
  if (heart_rate_bpm) out.set_heart_rate_bpm(*heart_rate_bpm);
  if (breathing_per_min) out.set_breathing_rate_per_min(*breathing_per_min);
  if (spo2_percent) out.set_spo2_percent(*spo2_percent);
  if (systolic_mmhg) out.set_systolic_mmhg(*systolic_mmhg);
  if (diastolic_mmhg) out.set_diastolic_mmhg(*diastolic_mmhg);
  if (body_temperature_c) out.set_body_temperature_celsius(*body_temperature_c);
}

std::string content_signature(const eldercare::v1::SensorEvent& event) {
  eldercare::v1::SensorEvent copy(event);
  copy.clear_received_time();
  copy.clear_sensor_time();
  copy.clear_retained();
  copy.clear_source_topic();
  return copy.SerializeAsString();
}

}  // namespace eg::drivers
