#include "eg/dc09/frame.hpp"

#include <openssl/rand.h>

#include <cstdio>
#include <stdexcept>

#include "aes.hpp"

namespace eg::dc09 {
namespace {

std::string hex4(unsigned value) {
  char text[8];
  std::snprintf(text, sizeof text, "%04X", value & 0xFFFF);
  return text;
}

std::string sequence4(unsigned sequence) {
  char text[8];
  std::snprintf(text, sizeof text, "%04u", sequence % 10000);
  return text;
}

}  // namespace

Result<Key> parse_key_hex(std::string_view hex) {
  if (hex.size() != 32 && hex.size() != 48 && hex.size() != 64)
    return make_error("AES key must be 32, 48 or 64 hex digits (AES-128/192/256), got " + std::to_string(hex.size()));
  auto bytes = from_hex(hex);
  if (!bytes) return make_error("AES key: " + bytes.error().reason);
  return Key(bytes.value().begin(), bytes.value().end());
}

std::string random_pad(std::size_t n) {
  // Printable ASCII without '|' (it ends the pad) or brackets: receivers that
  // decode the plaintext as text (iobroker.sia: UTF-8) see no stray bytes.
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static_assert(sizeof kAlphabet - 1 == 62);
  std::string pad(n, '\0');
  if (n == 0) return pad;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(pad.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  for (char& c : pad) c = kAlphabet[static_cast<unsigned char>(c) % 62];
  return pad;
}

std::string encode(const Message& message, const Key& key, const PadSource& pad) {
  const bool encrypted = !key.empty();
  std::string content = message.data + "]";
  if (!message.extended.empty()) content += "[" + message.extended + "]";
  content += '_';
  content += format_timestamp(message.time);

  std::string body = "\"";
  if (encrypted) body += "*";
  body += message.token + "\"" + sequence4(message.sequence) + "R" + message.receiver + "L" + message.line + "#" +
          message.account + "[";
  if (encrypted) {
    // "<pad>|content": the pad fills the plaintext to whole 16-byte blocks
    // (1..16 bytes, never none, as common receivers expect a pad).
    std::size_t pad_length = 16 - (content.size() + 1) % 16;
    std::string padding = pad(pad_length);
    if (padding.size() != pad_length || padding.find('|') != std::string::npos)
      throw std::invalid_argument("DC-09 pad source returned a wrong pad");
    body += to_hex_upper(aes_cbc_encrypt(key, padding + "|" + content));
  } else {
    body += content;
  }
  // Appended piece by piece: g++ 12 at -O3 warns falsely on `"literal" + string&&`.
  std::string frame;
  frame.reserve(body.size() + 10);
  frame += '\n';
  frame += hex4(crc16_arc(body));
  frame += '0';
  frame += hex4(static_cast<unsigned>(body.size())).substr(1);
  frame += body;
  frame += '\r';
  return frame;
}

std::vector<std::string> take_frames(std::string& buffer) {
  std::vector<std::string> frames;
  std::size_t at = 0;
  while (true) {
    std::size_t start = buffer.find('\n', at);
    if (start == std::string::npos) {
      at = buffer.size();  // no frame start: nothing worth keeping
      break;
    }
    std::size_t end = buffer.find('\r', start);
    if (end == std::string::npos) {
      at = start;  // incomplete: keep from its LF
      break;
    }
    frames.push_back(buffer.substr(start, end - start + 1));
    at = end + 1;
  }
  buffer.erase(0, at);
  return frames;
}

}  // namespace eg::dc09
