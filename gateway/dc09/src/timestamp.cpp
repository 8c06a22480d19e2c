#include <cstdio>

#include "eg/dc09/frame.hpp"

namespace eg::dc09 {

std::string format_timestamp(WallTime time) {
  auto days = std::chrono::floor<std::chrono::days>(time);
  std::chrono::year_month_day date{days};
  std::chrono::hh_mm_ss clock{std::chrono::floor<std::chrono::seconds>(time - days)};
  char text[32];
  std::snprintf(text, sizeof text, "%02d:%02d:%02d,%02u-%02u-%04d", static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()), static_cast<int>(clock.seconds().count()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), static_cast<int>(date.year()));
  return text;
}

std::optional<WallTime> parse_timestamp(std::string_view text) {
  // HH:MM:SS,MM-DD-YYYY
  if (text.size() != 19 || text[2] != ':' || text[5] != ':' || text[8] != ',' || text[11] != '-' || text[14] != '-')
    return std::nullopt;
  auto number = [&](std::size_t at, std::size_t digits) -> std::optional<int> {
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto hours = number(0, 2), minutes = number(3, 2), seconds = number(6, 2);
  auto month = number(9, 2), day = number(12, 2), year = number(15, 4);
  if (!hours || !minutes || !seconds || !month || !day || !year) return std::nullopt;
  if (*hours > 23 || *minutes > 59 || *seconds > 60) return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                                   std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days{date} + std::chrono::hours{*hours} + std::chrono::minutes{*minutes} +
         std::chrono::seconds{*seconds};
}

}  // namespace eg::dc09
