// Signed commands for tests: the keys a test gateway holds, and commands
// signed with them as a nurse's console or the platform would.
#pragma once

#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <chrono>
#include <string>

#include "eg/proto/signed_command.hpp"
#include "eldercare/v1/command.pb.h"
#include "temp_dir.hpp"

namespace eg::test {

// nurse-7 is a staff member with her own key; "platform" is the downlink's.
inline const std::string kNurseKeyHex(64, '7');
inline const std::string kPlatformKeyHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

inline std::string command_keys_text() {
  return "# test keys\nnurse-7 staff " + kNurseKeyHex + "\nplatform platform " + kPlatformKeyHex + "\n";
}

// Writes the keys file (mode 0600) in `dir`; returns its path.
inline std::string write_command_keys(const TempDir& dir) {
  return dir.secret_file("command-keys", command_keys_text());
}

inline std::string raw_key(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// `command`, stamped now and given a fresh id when it has none, signed by
// `key_id` ("nurse-7" or "platform").
inline std::string signed_command(eldercare::v1::Command command, const std::string& key_id = "nurse-7") {
  static std::atomic<int> next_id{0};
  if (command.id().empty()) command.set_id("test-command-" + std::to_string(++next_id));
  if (!command.has_time()) *command.mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  return eg::proto::sign_command(command, key_id, raw_key(key_id == "platform" ? kPlatformKeyHex : kNurseKeyHex));
}

}  // namespace eg::test
