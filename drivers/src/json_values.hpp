// Lenient readers for the value types publishers really send: booleans as
// true/1/"ON"/"true", numbers as numbers or numeric strings (old Zigbee2MQTT
// sends battery as "100.00"). Each returns nullopt when the value is null or
// unreadable, and the caller decides whether that is an error.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "eg/common/clock.hpp"

namespace eg::drivers::json_values {

using nlohmann::json;

std::optional<bool> as_bool(const json& value);
std::optional<double> as_number(const json& value);
std::optional<std::string> as_string(const json& value);

// Parses a number from text in full ("72.00" yes, "72 bpm" no, "nan" no).
std::optional<double> parse_number(std::string_view text);

// A timestamp in any of Zigbee2MQTT's last_seen forms: ISO 8601 with Z or an
// offset ("2024-09-07T15:54:41.147Z", "2026-04-17T23:33:22+08:00") or epoch
// milliseconds (1656118444933).
std::optional<WallTime> as_timestamp(const json& value);
std::optional<WallTime> parse_iso8601(std::string_view text);
// The same, saying why text is not a timestamp ("no such date", "no zone ...")
// for the decode error; fields other than digits where digits belong (a sign,
// "nan", a space) are refused, not read.
struct TimestampParse {
  std::optional<WallTime> time;
  std::string problem;  // empty when `time` is set
};
TimestampParse parse_iso8601_explained(std::string_view text);

// Publishers that send local wall-clock time without a zone: the text is read
// at `utc_offset` (the site's offset from UTC, DriverOptions::local_utc_offset).
// ISO 8601 without a zone ("2024-01-15T10:35:00", healthdata2mqtt); text that
// carries a zone is read as parse_iso8601 reads it.
std::optional<WallTime> parse_iso8601_local(std::string_view text, std::chrono::minutes utc_offset);
// "DD/MM/YYYY HH:MM:SS", zero-padded (the Kati watch's timeStamps).
std::optional<WallTime> parse_dmy_local(std::string_view text, std::chrono::minutes utc_offset);
// Epoch seconds as a JSON integer (AVA4, Qube-Vital, Kati batches): positive
// and before 2262, where nanosecond time points end.
std::optional<WallTime> as_epoch_seconds(const json& value);

}  // namespace eg::drivers::json_values
