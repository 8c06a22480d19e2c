// Secrets (broker passwords, command keys, the operator link's AES key, a
// webhook token) live in their own files, never in the shareable main config:
// mode 0600 and owned by the daemon's user, or a systemd credential
// (LoadCredential=, read from $CREDENTIALS_DIRECTORY).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace eg::gateway {

class SecretFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a configured secret lives: "credential:<name>" is
// $CREDENTIALS_DIRECTORY/<name>; a relative path is relative to the directory
// of `config_file`. Throws SecretFileError when a credential is asked for and
// systemd gave none.
std::string resolve_secret_path(std::string_view configured, const std::string& config_file);

// The file's content. Throws SecretFileError (naming the file and what to
// do) when it cannot be read, or when its mode lets group or others read or
// write it: a secret anyone on the box can read is no secret.
std::string read_secret_file(const std::string& path);

}  // namespace eg::gateway
