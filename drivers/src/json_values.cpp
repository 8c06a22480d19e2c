#include "json_values.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
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
  auto tp = days + hours{h} + minutes{mi} - minutes{offset_minutes};
  return time_point_cast<WallTime::duration>(tp + duration_cast<WallTime::duration>(duration<double>(s)));
}

std::optional<WallTime> as_timestamp(const json& value) {
  using namespace std::chrono;
  if (value.is_number_integer() || value.is_number_unsigned()) {
    auto ms = value.get<long long>();
    if (ms <= 0) return std::nullopt;
    return WallTime{duration_cast<WallTime::duration>(milliseconds{ms})};
  }
  if (value.is_string()) return parse_iso8601(value.get_ref<const std::string&>());
  return std::nullopt;
}

}  // namespace eg::drivers::json_values
