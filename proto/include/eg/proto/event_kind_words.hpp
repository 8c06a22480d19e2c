// The words config and rule files use for event kinds ("fall", "vitals", ...),
// one table for every component that reads them.
#pragma once

#include <string_view>

#include "eldercare/v1/sensor_event.pb.h"

namespace eg::proto {

// EVENT_KIND_UNSPECIFIED for a word that names no kind.
eldercare::v1::EventKind event_kind_from_word(std::string_view word);

// "fall, gas, smoke, ...", for error messages.
std::string_view event_kind_words();

}  // namespace eg::proto
