#include "eg/proto/signed_command.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <optional>
#include <set>
#include <sstream>

namespace eg::proto {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out, &length) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out), length);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sign_command(const eldercare::v1::Command& command, const std::string& key_id, std::string_view key) {
  eldercare::v1::SignedCommand signed_command;
  signed_command.set_command(command.SerializeAsString());
  signed_command.set_key_id(key_id);
  signed_command.set_hmac(hmac_sha256(key, signed_command.command()));
  return signed_command.SerializeAsString();
}

namespace {

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace

std::vector<CommandKey> parse_command_keys(std::string_view text, const std::string& name) {
  std::vector<CommandKey> keys;
  std::set<std::string> ids;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    std::string id, role, secret, extra;
    if (!(fields >> id)) continue;  // blank or comment
    auto fail = [&](const std::string& why) { throw KeyFileError(name + ":" + std::to_string(number) + ": " + why); };
    if (!(fields >> role >> secret) || (fields >> extra)) fail("expected \"<id> <staff|platform> <hex secret>\"");
    CommandKey key;
    key.id = id;
    if (role == "staff")
      key.role = CommandKey::Role::kStaff;
    else if (role == "platform")
      key.role = CommandKey::Role::kPlatform;
    else
      fail("role '" + role + "' is neither staff nor platform");
    auto bytes = from_hex(secret);
    if (!bytes) fail("the secret of '" + id + "' is not hex digits");
    if (bytes->size() < 32) fail("the secret of '" + id + "' is shorter than 32 bytes (64 hex digits)");
    if (!ids.insert(id).second) fail("key '" + id + "' is listed twice");
    key.secret = std::move(*bytes);
    keys.push_back(std::move(key));
  }
  return keys;
}

}  // namespace eg::proto
