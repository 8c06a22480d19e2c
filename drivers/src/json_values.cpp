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

namespace {

// Reads exactly `width` decimal digits at `pos`; nullopt on anything else
// (a sign, a space, "nan"): sscanf's %d and %lf took those, with undefined
// behaviour further on.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

TimestampParse parse_iso8601_explained(std::string_view text) {
  using namespace std::chrono;
  auto fail = [](std::string reason) { return TimestampParse{std::nullopt, std::move(reason)}; };
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  auto y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
  auto h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':')
    return fail("not of the form YYYY-MM-DDTHH:MM:SS with a zone");
  if (*y < 1700 || *y > 2200) return fail("year outside 1700-2200");  // nanosecond time points end in 2262
  year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return fail("no such date");
  if (*h > 23 || *mi > 59 || *s > 60) return fail("no such time of day");  // 60: a leap second
  std::size_t pos = 19;
  nanoseconds fraction{0};
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    std::size_t first = ++pos;
    long long scale = 100'000'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += nanoseconds((text[pos] - '0') * scale);  // digits past the ninth are below a nanosecond
      scale /= 10;
      ++pos;
    }
    if (pos == first) return fail("a decimal point with no digits");
  }
  std::string_view zone = text.substr(pos);
  minutes offset{0};
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    auto oh = digits(zone, 1, 2), om = digits(zone, 4, 2);
    if (!oh || !om || *oh > 18 || *om > 59) return fail("zone offset is not +HH:MM within 18 hours");
    offset = minutes((zone[0] == '-' ? -1 : 1) * (*oh * 60 + *om));
  } else if (zone.empty()) {
    return fail("no zone: local time of an unknown place, not a point in time");
  } else {
    return fail("zone is neither Z nor +HH:MM");
  }
  auto tp = sys_days{date} + hours{*h} + minutes{*mi} + seconds{*s} + fraction - offset;
  return TimestampParse{time_point_cast<WallTime::duration>(tp), {}};
}

std::optional<WallTime> parse_iso8601(std::string_view text) {
  return parse_iso8601_explained(text).time;
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
