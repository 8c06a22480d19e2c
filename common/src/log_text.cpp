#include "eg/common/log_text.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/base_sink.h>

#include <mutex>

namespace eg {
namespace {

// Length of the valid UTF-8 sequence at text[at], or 0 when it is not one
// (overlong forms, surrogates and code points above U+10FFFF are not).
std::size_t utf8_length(std::string_view text, std::size_t at, char32_t& code_point) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  std::size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
  if (length == 0 || lead > 0xf4 || at + length > text.size()) return 0;
  code_point = lead & (0x7f >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(at + i) & 0x3f);
  }
  if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff))
    return 0;
  return length;
}

void append_hex(std::string& out, unsigned char byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0xf];
}

void append_escaped(std::string& out, std::string_view text, std::size_t limit, bool escape_quotes) {
  std::size_t at = 0;
  while (at < text.size() && at < limit) {
    auto byte = static_cast<unsigned char>(text[at]);
    if (byte < 0x80) {
      switch (byte) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '"':
        case '\\':
          if (escape_quotes) out += '\\';
          out += static_cast<char>(byte);
          break;
        default:
          if (byte < 0x20 || byte == 0x7f)
            append_hex(out, byte);
          else
            out += static_cast<char>(byte);
      }
      ++at;
      continue;
    }
    char32_t code_point = 0;
    std::size_t length = utf8_length(text, at, code_point);
    if (length == 0) {
      append_hex(out, byte);
      ++at;
    } else if (code_point == 0x2028 || code_point == 0x2029) {
      out += code_point == 0x2028 ? "\\u2028" : "\\u2029";  // line breaks to some readers
      at += length;
    } else if (code_point < 0xa0) {
      for (std::size_t i = 0; i < length; ++i)
        append_hex(out, static_cast<unsigned char>(text[at + i]));  // C1 controls
      at += length;
    } else {
      out.append(text.substr(at, length));
      at += length;
    }
  }
  if (at < text.size()) out += "...(+" + std::to_string(text.size() - at) + " bytes)";
}

class OneLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit OneLineSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    std::string_view text(message.payload.data(), message.payload.size());
    bool clean = true;
    for (char c : text)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        clean = false;
        break;
      }
    if (clean) return inner_->log(message);
    std::string escaped = log_escaped(text);
    spdlog::details::log_msg copy = message;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->log(copy);
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

}  // namespace

std::string log_quoted(std::string_view text, std::size_t limit) {
  std::string out = "\"";
  append_escaped(out, text, limit, true);
  out += '"';
  return out;
}

std::string log_escaped(std::string_view text, std::size_t limit) {
  std::string out;
  append_escaped(out, text, limit, false);
  return out;
}

std::shared_ptr<spdlog::sinks::sink> one_line_per_record(std::shared_ptr<spdlog::sinks::sink> inner) {
  return std::make_shared<OneLineSink>(std::move(inner));
}

}  // namespace eg
