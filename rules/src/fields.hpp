// The event fields rules may test, by dotted name, and how to read them: a
// number (vitals.heart_rate_bpm) or a word (fall.state -> "detected",
// door.open -> "true"). One table, so the loader and the engine agree.
#pragma once

#include <optional>
#include <string>

#include "eldercare/v1/sensor_event.pb.h"

namespace eg::rules {

enum class FieldType { kNumber, kWord };

// nullopt for a field no rule may use.
std::optional<FieldType> field_type(const std::string& field);
// The kind whose payload holds the field (a rule's `kind` must agree).
eldercare::v1::EventKind field_kind(const std::string& field);
// Words a word field can take, for validating `equals`.
const std::vector<std::string>& field_words(const std::string& field);

std::optional<double> read_number(const eldercare::v1::SensorEvent& event, const std::string& field);
std::optional<std::string> read_word(const eldercare::v1::SensorEvent& event, const std::string& field);

}  // namespace eg::rules
