// A fresh directory under $TMPDIR, removed with everything in it at scope end.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace eg::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "eg-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // A file only its owner may read (mode 0600), as the gateway wants its
  // secrets; returns its path.
  std::string secret_file(const std::string& name, const std::string& content) const {
    std::string path = file(name);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
    return path;
  }

 private:
  std::string path_;
};

}  // namespace eg::test
