// libFuzzer target for one driver (EG_FUZZ_DRIVER names it). The input is
// "<topic suffix>\n<payload>": the suffix goes under one of the driver's own
// topic filters, so the fuzzer reaches the decoding paths, not just routing.
// One driver instance lives for the whole run, so state-change caches are
// exercised across inputs too. Any crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "eg/drivers/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::unique_ptr<eg::drivers::Driver> driver = eg::drivers::make_driver(EG_FUZZ_DRIVER);
  static const std::string base = [] {
    std::string filter = driver->topic_filters().front();
    // "zigbee2mqtt/#" -> "zigbee2mqtt/", "tele/+/SENSOR" -> "tele/"
    auto wildcard = filter.find_first_of("+#");
    return wildcard == std::string::npos ? filter + "/" : filter.substr(0, wildcard);
  }();
  std::string input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  std::string suffix = newline == std::string::npos ? "device" : input.substr(0, newline);
  std::string payload = newline == std::string::npos ? input : input.substr(newline + 1);
  std::string topic = base + suffix;
  auto result = driver->decode({topic, payload, eg::WallTime{}, false});
  if (!result.ok() && result.error().reason.empty()) __builtin_trap();  // every error must say why
  return 0;
}
