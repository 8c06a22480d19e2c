#include "eg/dc09/contact_id.hpp"

#include <cstdio>

namespace eg::dc09 {

std::string contact_id_data(const std::string& account, const ContactIdEvent& event) {
  char text[32];
  std::snprintf(text, sizeof text, "|%1d%03d %02d %03d", event.qualifier % 10, event.code % 1000, event.partition % 100,
                event.zone % 1000);
  return "#" + account + text;
}

std::string sia_dcs_data(const std::string& account, const std::string& code, int partition, int zone) {
  char text[32];
  std::snprintf(text, sizeof text, "/%.2s%03d", code.c_str(), zone % 1000);
  return "#" + account + "|Nri" + std::to_string(partition) + text;
}

}  // namespace eg::dc09
