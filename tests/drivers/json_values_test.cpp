// Timestamps from publishers are untrusted text: only well-formed ISO 8601
// with a zone becomes a time point; anything else is refused with a reason.
#include <catch2/catch.hpp>

#include "json_values.hpp"

namespace jv = eg::drivers::json_values;
using namespace std::chrono;

namespace {

long long epoch_ms(const std::optional<eg::WallTime>& t) {
  REQUIRE(t);
  return duration_cast<milliseconds>(t->time_since_epoch()).count();
}

}  // namespace

TEST_CASE("parse_iso8601 reads the forms publishers send", "[drivers][time]") {
  CHECK(epoch_ms(jv::parse_iso8601("2024-09-07T15:54:41.147Z")) == 1725724481147);
  CHECK(epoch_ms(jv::parse_iso8601("2026-04-17T23:33:22+08:00")) == 1776440002000);
  CHECK(epoch_ms(jv::parse_iso8601("2026-04-17T15:33:22-00:00")) == 1776440002000);
  CHECK(epoch_ms(jv::parse_iso8601("2016-12-31T23:59:60Z")) == 1483228800000);  // a leap second
  CHECK(epoch_ms(jv::parse_iso8601("2024-09-07T15:54:41.1234567891Z")) == 1725724481123);
}

TEST_CASE("parse_iso8601 refuses nan, signs and absurd fields with a reason", "[drivers][time]") {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"2024-09-07T15:54:nanZ", "not of the form"},
      {"2024-09-07T15:54:NaNZ", "not of the form"},
      {"2024-09-07T15:54:infZ", "not of the form"},
      {"2024-09-07T-1:54:41Z", "not of the form"},
      {"2024-09-07T15:-5:41Z", "not of the form"},
      {"2024-09-07T15:54:-1Z", "not of the form"},
      {"2024-09-07T15:54:1e1Z", "not of the form"},
      {"2024-09-07T 5:54:41Z", "not of the form"},
      {"-024-09-07T15:54:41Z", "not of the form"},
      {"0001-09-07T15:54:41Z", "year outside"},
      {"9999-09-07T15:54:41Z", "year outside"},
      {"2024-02-30T15:54:41Z", "no such date"},
      {"2024-13-07T15:54:41Z", "no such date"},
      {"2024-09-07T24:00:00Z", "no such time"},
      {"2024-09-07T15:54:61Z", "no such time"},
      {"2024-09-07T15:54:41.Z", "decimal point"},
      {"2024-09-07T15:54:41+99:00", "zone offset"},
      {"2024-09-07T15:54:41+08:-1", "zone offset"},
      {"2024-09-07T15:54:41", "no zone"},
      {"2024-09-07T15:54:41 Z", "zone is neither"},
      {"2024-09-07T15:54:41Zjunk", "zone is neither"},
      {"", "not of the form"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto parsed = jv::parse_iso8601_explained(c.text);
    CHECK_FALSE(parsed.time);
    CHECK_THAT(parsed.problem, Catch::Contains(c.reason));
    CHECK_FALSE(jv::parse_iso8601(c.text));
  }
}

TEST_CASE("parse_iso8601_local refuses what parse_iso8601 refuses", "[drivers][time]") {
  CHECK(epoch_ms(jv::parse_iso8601_local("2024-01-15T10:35:00", hours(8))) == 1705286100000);
  CHECK_FALSE(jv::parse_iso8601_local("2024-01-15T10:35:nan", hours(8)));
  CHECK_FALSE(jv::parse_iso8601_local("2024-01-15T-1:35:00", hours(8)));
}
