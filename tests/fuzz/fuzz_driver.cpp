// libFuzzer target for one driver (EG_FUZZ_DRIVER names it). The input is
// "<selector byte><topic suffix>\n<payload>": the selector picks one of the
// driver's own topic filters and the suffix fills its wildcard, so the fuzzer
// reaches the decoding paths, not just routing. An empty suffix uses the
// filter's fixed part as the whole topic (hubs publish on one fixed topic).
// One driver instance lives for the whole run, so state-change caches are
// exercised across inputs too. Any crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "eg/drivers/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::unique_ptr<eg::drivers::Driver> driver = eg::drivers::make_driver(EG_FUZZ_DRIVER);
  static const std::vector<std::string> filters = driver->topic_filters();
  if (size == 0 || filters.empty()) return 0;
  const std::string& filter = filters[data[0] % filters.size()];
  std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  auto newline = input.find('\n');
  std::string suffix = newline == std::string::npos ? "device" : input.substr(0, newline);
  std::string payload = newline == std::string::npos ? input : input.substr(newline + 1);
  // "zigbee2mqtt/#" -> "zigbee2mqtt/", "tele/+/SENSOR" -> "tele/", "CM4_BLE_GW_TX" -> itself
  auto wildcard = filter.find_first_of("+#");
  std::string fixed = wildcard == std::string::npos ? filter : filter.substr(0, wildcard);
  std::string topic = suffix.empty() ? fixed : fixed + (fixed.ends_with('/') || fixed.empty() ? "" : "/") + suffix;
  auto result = driver->decode({topic, payload, eg::WallTime{}, false});
  if (!result.ok() && result.error().reason.empty()) __builtin_trap();  // every error must say why
  return 0;
}
