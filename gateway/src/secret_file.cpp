#include "secret_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace eg::gateway {

std::string resolve_secret_path(std::string_view configured, const std::string& config_file) {
  constexpr std::string_view kCredential = "credential:";
  if (configured.starts_with(kCredential)) {
    std::string_view name = configured.substr(kCredential.size());
    if (name.empty() || name.find('/') != std::string_view::npos)
      throw SecretFileError("'" + std::string(configured) + "': a credential name has no '/'");
    const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
    if (directory == nullptr || *directory == '\0')
      throw SecretFileError("'" + std::string(configured) +
                            "' names a systemd credential, but $CREDENTIALS_DIRECTORY is not set "
                            "(LoadCredential= in the unit)");
    return std::string(directory) + "/" + std::string(name);
  }
  std::string path(configured);
  if (!path.empty() && path.front() != '/') {
    auto slash = config_file.rfind('/');
    if (slash != std::string::npos) path = config_file.substr(0, slash + 1) + path;
  }
  return path;
}

std::string read_secret_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw SecretFileError("cannot read '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw SecretFileError("'" + path + "' is not a regular file");
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    throw SecretFileError("'" + path + "' is readable or writable by group or others (mode " + mode +
                          "); a secret must be mode 0600: chmod 600 '" + path + "'");
  }
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw SecretFileError("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << stream.rdbuf();
  return text.str();
}

}  // namespace eg::gateway
