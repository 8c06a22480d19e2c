// libFuzzer target for what an alarm receiver sends back: the stream splitter
// and the reply parser, with no key and with AES-128/256 keys (the first byte
// picks one). A receiver is a peer we do not control; any crash or sanitizer
// report is a bug, and every rejection must say why.
#include <cstddef>
#include <cstdint>
#include <string>

#include "eg/dc09/frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const eg::dc09::Key keys[] = {
      {},
      eg::dc09::parse_key_hex("000102030405060708090a0b0c0d0e0f").value(),
      eg::dc09::parse_key_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").value()};
  if (size == 0) return 0;
  const eg::dc09::Key& key = keys[data[0] % 3];
  std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);
  for (const auto& frame : eg::dc09::take_frames(stream)) {
    auto reply = eg::dc09::parse_reply(frame, key);
    if (!reply.ok() && reply.error().reason.empty()) __builtin_trap();
  }
  if (stream.size() >= size) __builtin_trap();  // the splitter must never grow its input
  return 0;
}
