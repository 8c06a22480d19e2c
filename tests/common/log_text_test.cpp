#include <catch2/catch.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "eg/common/log_text.hpp"

using eg::log_quoted;

TEST_CASE("a value from the network cannot forge a log line or a key", "[log][security]") {
  // A device id that tries to end the line and start a forged one.
  CHECK(log_quoted("bed7\n2026-12-05 info ALERT_TRANSITION acked") ==
        R"("bed7\n2026-12-05 info ALERT_TRANSITION acked")");
  // A topic that tries to close its quotes and add actor=...
  CHECK(log_quoted(R"(tele/plug" actor="nurse-7)") == R"("tele/plug\" actor=\"nurse-7")");
  CHECK(log_quoted("back\\slash\r\t") == R"("back\\slash\r\t")");
  CHECK(log_quoted(std::string("nul\0bell\a", 9)) == R"("nul\x00bell\x07")");
  CHECK(log_quoted("\x1b[31mred") == R"("\x1b[31mred")");  // no terminal escape sequences
}

TEST_CASE("UTF-8 stays readable, bytes that are not UTF-8 are escaped", "[log][security]") {
  CHECK(log_quoted("301室床位") == "\"301室床位\"");
  CHECK(log_quoted("\xff\xfe ok") == R"("\xff\xfe ok")");
  CHECK(log_quoted("\xc0\xaf") == R"("\xc0\xaf")");          // overlong '/'
  CHECK(log_quoted("\xed\xa0\x80") == R"("\xed\xa0\x80")");  // a UTF-16 surrogate
  CHECK(log_quoted("\xe5\xae") == R"("\xe5\xae")");          // cut short
  CHECK(log_quoted("a\xe2\x80\xa8z") == R"("a\u2028z")");    // LINE SEPARATOR
  CHECK(log_quoted("a\xc2\x85z") == R"("a\xc2\x85z")");      // NEXT LINE (C1)
}

TEST_CASE("long values are cut on a character boundary and say how much is missing", "[log]") {
  CHECK(log_quoted(std::string(300, 'x'), 10) == "\"xxxxxxxxxx...(+290 bytes)\"");
  std::string chinese = "床床床床";  // 3 bytes each
  std::string cut = log_quoted(chinese, 4);
  CHECK(cut == "\"床床...(+6 bytes)\"");
}

TEST_CASE("the daemon's sink writes every record as one escaped line", "[log][security]") {
  std::ostringstream written;
  auto sink = eg::one_line_per_record(std::make_shared<spdlog::sinks::ostream_sink_mt>(written));
  spdlog::logger logger("test", sink);
  logger.set_pattern("%l %v");
  logger.info("DEVICE_SILENT device={}", "bed7\nwarn FORGED");
  logger.info("plain line");
  CHECK(written.str() == "info DEVICE_SILENT device=bed7\\nwarn FORGED\ninfo plain line\n");
}
