// The engine of `eldercare-sim decode`: one stream of MQTT messages in, one
// answer per message out, in order. Messages go to the driver their
// `publisher` names or, without one, to the driver the default topic filters
// route them to. Driver instances persist across lines, so state-change logic
// (Zigbee2MQTT's repeated cached state) applies across the stream.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/drivers/driver.hpp"
#include "eg/drivers/router.hpp"

namespace eg::simulator {

struct DecodeAnswer {
  eg::drivers::Events events;
  std::optional<eg::drivers::DecodeError> error;
};

class StreamDecoder {
 public:
  StreamDecoder();

  // `publisher`: a driver name or alias ("zigbee2mqtt", "tasmota", ...) or
  // empty to route by topic.
  DecodeAnswer decode(const std::string& publisher, const std::string& topic, const std::string& payload,
                      WallTime received);

  // One JSON input line -> one JSON output line (without newline):
  // {"events":[...]} or {"error":"<code>: <reason>"}.
  std::string decode_line(const std::string& line, WallTime received);

 private:
  eg::drivers::Driver* driver_for(const std::string& name, const std::string& topic);

  eg::drivers::Router router_;  // every known driver at its default filters
  std::map<std::string, eg::drivers::Driver*> by_name_;
  std::map<std::string, std::unique_ptr<eg::drivers::Driver>> by_name_and_base_;
};

// The driver name for a publisher as people write it: exact driver names,
// and the publisher labels of the shared fixtures ("zigbee2mqtt (2.0.0)",
// "kati-watch (iMEDE ...)"). Empty when unknown.
std::string driver_name_for_publisher(const std::string& publisher);

}  // namespace eg::simulator
