// Reads one TOML table strictly: typed getters that throw ConfigError with the
// value's file:line:col, and a final check that every key was expected. A small
// table of keys per section instead of one giant dispatch function.
#pragma once

#include <toml++/toml.h>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <stdexcept>

namespace eg {

// A configuration or rule file problem, already formatted "file:line:col: reason".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string position(const std::string& file, const toml::source_region& where);

class TomlReader {
 public:
  // `path` is the dotted name used in messages ("local.tls").
  TomlReader(const toml::table& table, std::string file, std::string path);

  std::string required_string(const char* key);
  std::string optional_string(const char* key, std::string fallback);
  std::int64_t optional_int(const char* key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  bool optional_bool(const char* key, bool fallback);
  double optional_double(const char* key, double fallback);
  std::vector<std::string> optional_string_array(const char* key);
  // A sub-table, or nullptr when absent; an error when present but not a table.
  const toml::table* optional_table(const char* key);
  // An array of tables ([[key]]), empty when absent.
  std::vector<const toml::table*> table_array(const char* key);

  // Throws for the first key that no getter asked for.
  void reject_unknown_keys() const;

  [[noreturn]] void fail_at(const toml::node& node, const std::string& key, const std::string& reason) const;
  [[noreturn]] void fail_here(const std::string& reason) const;
  // At `key`'s value when the table has it, else at the table.
  [[noreturn]] void fail_at_key(const char* key, const std::string& reason) const;
  const std::string& file() const { return file_; }
  std::string qualified(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  const toml::node* take(const char* key);

  const toml::table& table_;
  std::string file_;
  std::string path_;
  std::set<std::string> seen_;
};

}  // namespace eg
