// Signing commands (SignedCommand in command.proto) and reading the keys they
// are signed with. Shared by the gateway (verifies), eldercare-sim and the
// benchmark's platform (sign).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eldercare/v1/command.pb.h"

namespace eg::proto {

// HMAC-SHA256 of `data` under `key`: 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

// True when a and b are equal, in time that does not depend on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// SignedCommand bytes carrying `command`, signed with (key_id, key).
std::string sign_command(const eldercare::v1::Command& command, const std::string& key_id, std::string_view key);

// A key a command may be signed with. A staff key signs only commands whose
// actor is its id; the platform's key signs for any actor (the platform has
// authenticated its own users) and may ask for a resend.
struct CommandKey {
  enum class Role { kStaff, kPlatform };
  std::string id;
  Role role = Role::kStaff;
  std::string secret;  // raw bytes, at least 32
};

class KeyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A keys file: one key per line, "<id> <staff|platform> <secret as 64+ hex
// digits>"; '#' starts a comment. Throws KeyFileError naming `name`:line.
std::vector<CommandKey> parse_command_keys(std::string_view text, const std::string& name);

}  // namespace eg::proto
