// The event content of DC-09 messages: Ademco Contact ID ("ADM-CID") and SIA
// DCS ("SIA-DCS") data blocks.
#pragma once

#include <string>

namespace eg::dc09 {

// Contact ID qualifiers.
inline constexpr int kNewEvent = 1;
inline constexpr int kRestore = 3;
inline constexpr int kStatus = 6;

struct ContactIdEvent {
  int qualifier = kNewEvent;  // 1 new event / opening, 3 restore / closing, 6 status
  int code = 0;               // 3 digits, e.g. 101 personal emergency
  int partition = 1;          // 2 digits (group)
  int zone = 0;               // 3 digits (zone or user)
};

// "#<account>|QEEE GG ZZZ", e.g. "#1234|1101 01 002".
std::string contact_id_data(const std::string& account, const ContactIdEvent& event);

// SIA DCS: "#<account>|Nri<partition>/<code><zone>", e.g. "#1234|Nri1/MA002".
std::string sia_dcs_data(const std::string& account, const std::string& code, int partition, int zone);

}  // namespace eg::dc09
