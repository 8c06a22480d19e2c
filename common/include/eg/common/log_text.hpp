// Text from the network in log lines. Topics, device ids, actors and payloads
// are chosen by whoever publishes; written raw, a newline forges a whole log
// line and a quote forges a key=value pair the next reader (a person, a log
// shipper) believes. log_quoted() makes any bytes one quoted, escaped value.
#pragma once

#include <spdlog/sinks/sink.h>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace eg {

// `text` between double quotes: `"` and `\` escaped, control characters as
// \n, \r, \t or \xNN, bytes that are not UTF-8 as \xNN, and the Unicode line
// and paragraph separators as \u2028 / \u2029. Valid UTF-8 (a Chinese room
// name) stays readable. Longer than `limit` bytes: cut on a character boundary
// and marked with the number of bytes left out.
std::string log_quoted(std::string_view text, std::size_t limit = 200);

// The same escaping without the quotes, for a whole formatted line.
std::string log_escaped(std::string_view text, std::size_t limit = 16 * 1024);

// A sink that escapes every line before `inner` writes it: the last guard if
// a log call forgets log_quoted. Each record stays one line.
std::shared_ptr<spdlog::sinks::sink> one_line_per_record(std::shared_ptr<spdlog::sinks::sink> inner);

}  // namespace eg
