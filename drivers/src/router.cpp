#include "eg/drivers/router.hpp"

#include <string>

namespace eg::drivers {

bool topic_matches(std::string_view filter, std::string_view topic) {
  // Topics starting with '$' are broker-internal and never match wildcards at
  // the first level (MQTT 3.1.1, 4.7.2).
  if (!topic.empty() && topic.front() == '$' && !filter.empty() && (filter.front() == '+' || filter.front() == '#'))
    return false;
  std::size_t f = 0, t = 0;
  while (true) {
    auto f_end = filter.find('/', f);
    auto f_level = filter.substr(f, f_end == std::string_view::npos ? std::string_view::npos : f_end - f);
    if (f_level == "#") return true;  // matches the parent level and everything below
    if (t > topic.size()) return false;
    auto t_end = topic.find('/', t);
    auto t_level = topic.substr(t, t_end == std::string_view::npos ? std::string_view::npos : t_end - t);
    if (f_level != "+" && f_level != t_level) return false;
    bool f_last = f_end == std::string_view::npos;
    bool t_last = t_end == std::string_view::npos;
    if (f_last || t_last) {
      if (f_last && t_last) return true;
      // "a/#" also matches "a": the filter has one more level and it is '#'.
      return t_last && !f_last && filter.substr(f_end + 1) == "#";
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

void Router::add_route(std::string filter, Driver& driver) {
  routes_.push_back({std::move(filter), &driver});
}

Driver& Router::own(std::unique_ptr<Driver> driver) {
  drivers_.push_back(std::move(driver));
  return *drivers_.back();
}

const Router::Route* Router::find_route(std::string_view topic) const {
  for (const auto& route : routes_)
    if (topic_matches(route.filter, topic)) return &route;
  return nullptr;
}

Driver* Router::find(std::string_view topic) const {
  const Route* route = find_route(topic);
  return route == nullptr ? nullptr : route->driver;
}

DecodeResult Router::decode(const Message& message) const {
  if (message.payload.size() > kMaxPayloadBytes)
    return DecodeError{DecodeError::Code::kTooLarge, "payload of " + std::to_string(message.payload.size()) +
                                                         " bytes exceeds the cap of " +
                                                         std::to_string(kMaxPayloadBytes)};
  Driver* driver = find(message.topic);
  if (driver == nullptr) return DecodeError{DecodeError::Code::kUnsupported, "no driver routes this topic"};
  auto result = driver->decode(message);
  if (!result) return result;
  for (const auto& event : result.value())
    if (event.device_id().starts_with(kReservedIdPrefix))
      return DecodeError{DecodeError::Code::kReservedId,
                         "device id '" + event.device_id().substr(0, 64) + "' is in the gateway's own namespace"};
  return result;
}

std::vector<std::string> Router::filters() const {
  std::vector<std::string> out;
  for (const auto& route : routes_) out.push_back(route.filter);
  return out;
}

}  // namespace eg::drivers
