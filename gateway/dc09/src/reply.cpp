#include <cctype>

#include "aes.hpp"
#include "eg/dc09/frame.hpp"

namespace eg::dc09 {
namespace {

bool all_hex(std::string_view text) {
  for (char c : text)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return !text.empty();
}

unsigned hex_number(std::string_view text) {
  return static_cast<unsigned>(std::stoul(std::string(text), nullptr, 16));
}

// Reads a header field's value: from `at` up to the first of `stops`.
std::string field(std::string_view header, std::size_t& at, std::string_view stops) {
  std::size_t end = header.find_first_of(stops, at);
  if (end == std::string_view::npos) end = header.size();
  std::string value(header.substr(at, end - at));
  at = end;
  return value;
}

}  // namespace

Result<Reply> parse_reply(std::string_view frame, const Key& key) {
  if (frame.size() < 12 || frame.front() != '\n' || frame.back() != '\r')
    return make_error("not a frame (LF ... CR expected)");
  std::string_view inner = frame.substr(1, frame.size() - 2);
  unsigned crc = 0, length = 0;
  std::string_view body;
  if (inner.size() > 8 && inner[4] == '0' && inner[8] == '"' && all_hex(inner.substr(0, 4)) &&
      all_hex(inner.substr(4, 4))) {
    crc = hex_number(inner.substr(0, 4));  // ASCII hex, in either case
    length = hex_number(inner.substr(4, 4));
    body = inner.substr(8);
  } else if (inner.size() > 6 && inner[2] == '0' && inner[6] == '"' && all_hex(inner.substr(2, 4))) {
    crc = static_cast<unsigned char>(inner[0]) * 256u + static_cast<unsigned char>(inner[1]);  // binary CRC
    length = hex_number(inner.substr(2, 4));
    body = inner.substr(6);
  } else {
    return make_error("neither a hex nor a binary CRC header");
  }
  if (length != body.size())
    return make_error("length field says " + std::to_string(length) + ", body has " + std::to_string(body.size()));
  if (crc != crc16_arc(body)) return make_error("CRC mismatch");

  std::size_t close = body.find('"', 1);
  if (close == std::string_view::npos) return make_error("no closing quote after the message type");
  std::string_view token = body.substr(1, close - 1);
  Reply reply;
  reply.encrypted = token.starts_with('*');
  if (reply.encrypted) token.remove_prefix(1);
  if (token == "ACK") {
    reply.kind = Reply::Kind::ack;
  } else if (token == "NAK") {
    reply.kind = Reply::Kind::nak;
  } else if (token == "DUH") {
    reply.kind = Reply::Kind::duh;
  } else {
    return make_error("not a reply type: \"" + std::string(token) + "\"");
  }

  std::size_t bracket = body.find('[', close);
  std::string_view header =
      body.substr(close + 1, bracket == std::string_view::npos ? std::string_view::npos : bracket - close - 1);
  if (header.size() < 4 || !std::isdigit(static_cast<unsigned char>(header[0])) ||
      !std::isdigit(static_cast<unsigned char>(header[1])) || !std::isdigit(static_cast<unsigned char>(header[2])) ||
      !std::isdigit(static_cast<unsigned char>(header[3])))
    return make_error("no 4-digit sequence number");
  reply.sequence = static_cast<unsigned>(std::stoul(std::string(header.substr(0, 4))));
  std::size_t at = 4;
  while (at < header.size()) {
    char tag = header[at++];
    if (tag == 'R') {
      reply.receiver = field(header, at, "L#");
      if (reply.receiver == "None") reply.receiver.clear();  // pysiaalarm-style missing field
    } else if (tag == 'L') {
      reply.line = field(header, at, "#");
    } else if (tag == '#') {
      reply.account = field(header, at, "");
    } else {
      field(header, at, "#");  // e.g. "A0" in a NAK: no account
    }
  }
  if (bracket == std::string_view::npos) return reply;  // an ACK without a data block: nothing more to read

  std::string content(body.substr(bracket + 1));
  if (reply.encrypted) {
    if (key.empty()) return make_error("encrypted reply, but no key is configured");
    if (!content.empty() && content.back() == ']') content.pop_back();
    auto cipher = from_hex(content);
    if (!cipher) return make_error("encrypted block: " + cipher.error().reason);
    auto plain = aes_cbc_decrypt(key, cipher.value());
    if (!plain) return make_error("encrypted block: " + plain.error().reason);
    std::string text = std::move(plain).value();
    // Some receivers let their AES library add a PKCS#7 block after the
    // content, or pad with zeros: control bytes never end a real timestamp.
    while (!text.empty() && static_cast<unsigned char>(text.back()) < 0x20) text.pop_back();
    std::size_t bar = text.find('|');
    if (bar != std::string::npos) {
      content = text.substr(bar + 1);
    } else {
      // pysiaalarm pads its replies with '0's and no '|': the content starts
      // at the data block's closing bracket.
      std::size_t close_bracket = text.find(']');
      if (close_bracket == std::string::npos) return make_error("encrypted block: no '|' or ']' (wrong key?)");
      content = text.substr(close_bracket);
    }
  }
  std::size_t underscore = content.rfind('_');
  if (underscore != std::string::npos) {
    reply.time = parse_timestamp(content.substr(underscore + 1));
    // A NAK without a readable time is still a NAK: one that is not about the
    // message's timestamp (the link treats it as a refusal).
    if (!reply.time && reply.kind != Reply::Kind::nak)
      return make_error("unreadable timestamp '" + content.substr(underscore + 1) + "'");
  }
  return reply;
}

}  // namespace eg::dc09
