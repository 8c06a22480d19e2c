// ANSI/SIA DC-09 message frames, as pure functions.
//
//   <LF><crc><0LLL><"id"><seq><Rrcvr><Lpref><#acct>[<data>][<x-data>]_<timestamp><CR>
//
// crc is CRC-16/ARC over everything from the first '"' to the end of the
// timestamp, as four hex digits; 0LLL is the length of the same span in hex.
// Encrypted ("*ADM-CID"), everything after '[' is AES-CBC with a zero IV over
// "<pad>|<data>][<x-data>]_<timestamp>", sent as hex; the random pad makes the
// plaintext a whole number of 16-byte blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/common/result.hpp"

namespace eg::dc09 {

// CRC-16/ARC (poly 0x8005 reflected, init 0): the DC-09 frame check.
std::uint16_t crc16_arc(std::string_view bytes);

// An AES key: empty for plain messages, else 16, 24 or 32 bytes (AES-128/192/256).
using Key = std::vector<std::uint8_t>;
// "00112233..." (32, 48 or 64 hex digits) -> key; an error names what is wrong.
Result<Key> parse_key_hex(std::string_view hex);

// Supplies `n` pad bytes. The standard asks for random ones; tests pass a
// fixed source so frames are golden. Never returns '|', which ends the pad.
using PadSource = std::function<std::string(std::size_t n)>;
std::string random_pad(std::size_t n);

// "HH:MM:SS,MM-DD-YYYY" in UTC, the DC-09 timestamp.
std::string format_timestamp(WallTime time);
std::optional<WallTime> parse_timestamp(std::string_view text);

struct Message {
  std::string token;           // "ADM-CID", "SIA-DCS" or "NULL" (without the '*' of encryption)
  unsigned sequence = 1;       // 1..9999; a retry reuses its message's number
  std::string receiver = "0";  // R field: always sent (some receivers require it)
  std::string line = "0";      // L field: account prefix / line
  std::string account;         // 3..16 hex digits
  std::string data;            // inside the first [ ], e.g. "#1234|1101 01 002"; empty for NULL
  std::string extended;        // optional extended data, e.g. "X114E2210N31W"; without brackets
  WallTime time;
};

// The whole frame, LF to CR. With a non-empty key the message is encrypted.
std::string encode(const Message& message, const Key& key, const PadSource& pad = random_pad);

// The receiver's answer to one message.
struct Reply {
  enum class Kind { ack, nak, duh };
  Kind kind = Kind::ack;
  unsigned sequence = 0;
  std::string receiver;  // empty when absent (or "None", as one receiver sends)
  std::string line;
  std::string account;           // empty when absent (a NAK may carry none)
  std::optional<WallTime> time;  // a NAK's time is the receiver's clock
  bool encrypted = false;
};

// Parses one frame (LF..CR) as a reply. Accepts what common receivers send:
// lowercase hex, a binary CRC, a PKCS#7 tail after the encrypted content,
// "None" for a missing receiver number, "A0" in place of an account.
Result<Reply> parse_reply(std::string_view frame, const Key& key);

// Moves every complete LF..CR frame out of a stream buffer, dropping bytes
// before a LF; an incomplete frame stays in `buffer` for the next read.
std::vector<std::string> take_frames(std::string& buffer);

}  // namespace eg::dc09
