#include "json_values.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace eg::drivers::json_values {

std::optional<double> parse_number(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> as_bool(const json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number_integer() || value.is_number_unsigned()) {
    auto n = value.get<long long>();
    if (n == 0 || n == 1) return n == 1;
    return std::nullopt;
  }
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s == "true" || s == "ON" || s == "on" || s == "1") return true;
    if (s == "false" || s == "OFF" || s == "off" || s == "0") return false;
  }
  return std::nullopt;
}

std::optional<double> as_number(const json& value) {
  if (value.is_number()) {
    double d = value.get<double>();
    return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
  }
  if (value.is_string()) return parse_number(value.get_ref<const std::string&>());
  return std::nullopt;
}

std::optional<std::string> as_string(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return std::nullopt;
}

std::optional<WallTime> parse_iso8601(std::string_view text) {
  int y, mo, d, h, mi;
  double s;
  int consumed = 0;
  std::string buf(text);
  if (std::sscanf(buf.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s < 0 || s >= 61) return std::nullopt;
  std::string_view zone = text.substr(static_cast<std::size_t>(consumed));
  int offset_minutes = 0;
  if (zone == "Z" || zone == "z") {
    offset_minutes = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(zone.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_minutes = (zone[0] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return std::nullopt;  // no zone: local time of an unknown place, not a point in time
  }
  using namespace std::chrono;
  auto days = sys_days{year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)}};
  if (!year_month_day{days}.ok()) return std::nullopt;
  if (y < 1700 || y > 2200) return std::nullopt;  // outside what a nanosecond time point can hold (1678-2262)
  auto tp = days + hours{h} + minutes{mi} - minutes{offset_minutes};
  // round, not truncate: 41.001 s in binary floating point is 41.00099999...
  return time_point_cast<WallTime::duration>(tp + round<WallTime::duration>(duration<double>(s)));
}

std::optional<WallTime> as_timestamp(const json& value) {
  using namespace std::chrono;
  if (value.is_number_integer() || value.is_number_unsigned()) {
    auto ms = value.get<long long>();
    if (ms <= 0 || ms > 7'000'000'000'000) return std::nullopt;  // beyond 2191: not a clock, and ns overflow at 2262
    return WallTime{duration_cast<WallTime::duration>(milliseconds{ms})};
  }
  if (value.is_string()) return parse_iso8601(value.get_ref<const std::string&>());
  return std::nullopt;
}

std::optional<WallTime> parse_iso8601_local(std::string_view text, std::chrono::minutes utc_offset) {
  if (auto zoned = parse_iso8601(text)) return zoned;
  // No zone (or an unreadable one, which the appended zone keeps unreadable):
  // append the site's offset and read it again.
  auto minutes = utc_offset.count();
  char zone[16];
  std::snprintf(zone, sizeof zone, "%c%02d:%02d", minutes < 0 ? '-' : '+',
                static_cast<int>(std::abs(minutes) / 60 % 100), static_cast<int>(std::abs(minutes) % 60));
  return parse_iso8601(std::string(text) + zone);
}

std::optional<WallTime> parse_dmy_local(std::string_view text, std::chrono::minutes utc_offset) {
  // Fixed width: DD/MM/YYYY HH:MM:SS.
  constexpr std::string_view shape = "00/00/0000 00:00:00";
  if (text.size() != shape.size()) return std::nullopt;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (shape[i] == '0' ? !digit : text[i] != shape[i]) return std::nullopt;
  }
  auto field = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  int d = field(0, 2), mo = field(3, 2), y = field(6, 4), h = field(11, 2), mi = field(14, 2), s = field(17, 2);
  if (h > 23 || mi > 59 || s > 60) return std::nullopt;
  if (y < 1700 || y > 2200) return std::nullopt;  // as parse_iso8601: nanosecond time points end in 2262
  using namespace std::chrono;
  year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  auto tp = sys_days{date} + hours{h} + minutes{mi} + seconds{s} - utc_offset;
  return time_point_cast<WallTime::duration>(tp);
}

std::optional<WallTime> as_epoch_seconds(const json& value) {
  using namespace std::chrono;
  constexpr long long kLastSecond = 9'200'000'000;  // 2261-07-18, inside nanosecond range
  long long s = 0;
  if (value.is_number_unsigned()) {
    if (value.get<unsigned long long>() > static_cast<unsigned long long>(kLastSecond)) return std::nullopt;
    s = static_cast<long long>(value.get<unsigned long long>());
  } else if (value.is_number_integer()) {
    s = value.get<long long>();
  } else {
    return std::nullopt;
  }
  if (s <= 0 || s > kLastSecond) return std::nullopt;
  return WallTime{duration_cast<WallTime::duration>(seconds{s})};
}

}  // namespace eg::drivers::json_values
