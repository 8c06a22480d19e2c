#include "eg/proto/event_kind_words.hpp"

#include <map>

namespace eg::proto {

namespace v1 = eldercare::v1;

eldercare::v1::EventKind event_kind_from_word(std::string_view word) {
  static const std::map<std::string_view, v1::EventKind> kinds = {{"fall", v1::EVENT_KIND_FALL},
                                                                  {"gas", v1::EVENT_KIND_GAS},
                                                                  {"smoke", v1::EVENT_KIND_SMOKE},
                                                                  {"water_leak", v1::EVENT_KIND_WATER_LEAK},
                                                                  {"sos", v1::EVENT_KIND_SOS_CALL},
                                                                  {"door", v1::EVENT_KIND_DOOR},
                                                                  {"presence", v1::EVENT_KIND_PRESENCE},
                                                                  {"bed", v1::EVENT_KIND_BED},
                                                                  {"vitals", v1::EVENT_KIND_VITALS},
                                                                  {"water_meter", v1::EVENT_KIND_WATER_METER},
                                                                  {"device_health", v1::EVENT_KIND_DEVICE_HEALTH}};
  auto it = kinds.find(word);
  return it == kinds.end() ? v1::EVENT_KIND_UNSPECIFIED : it->second;
}

std::string_view event_kind_words() {
  return "fall, gas, smoke, water_leak, sos, door, presence, bed, vitals, water_meter, device_health";
}

}  // namespace eg::proto
