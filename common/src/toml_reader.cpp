#include "eg/common/toml_reader.hpp"

namespace eg {

std::string position(const std::string& file, const toml::source_region& where) {
  return file + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
}

TomlReader::TomlReader(const toml::table& table, std::string file, std::string path)
    : table_(table), file_(std::move(file)), path_(std::move(path)) {}

void TomlReader::fail_at(const toml::node& node, const std::string& key, const std::string& reason) const {
  throw ConfigError(position(file_, node.source()) + ": " + qualified(key) + ": " + reason);
}

void TomlReader::fail_here(const std::string& reason) const {
  // The root table has no position of its own; its errors point at line 1.
  auto where = table_.source();
  if (where.begin.line == 0) where.begin = {1, 1};
  throw ConfigError(position(file_, where) + ": " + reason);
}

void TomlReader::fail_at_key(const char* key, const std::string& reason) const {
  if (const toml::node* node = table_.get(key)) fail_at(*node, key, reason);
  fail_here(qualified(key) + ": " + reason);
}

const toml::node* TomlReader::take(const char* key) {
  seen_.insert(key);
  return table_.get(key);
}

std::string TomlReader::required_string(const char* key) {
  const toml::node* node = take(key);
  if (node == nullptr) fail_here("missing required key " + qualified(key));
  auto value = node->value_exact<std::string>();
  if (!value) fail_at(*node, key, "expected a string");
  if (value->empty()) fail_at(*node, key, "must not be empty");
  return *value;
}

std::string TomlReader::optional_string(const char* key, std::string fallback) {
  const toml::node* node = take(key);
  if (node == nullptr) return fallback;
  auto value = node->value_exact<std::string>();
  if (!value) fail_at(*node, key, "expected a string");
  return *value;
}

std::int64_t TomlReader::optional_int(const char* key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const toml::node* node = take(key);
  if (node == nullptr) return fallback;
  auto value = node->value_exact<std::int64_t>();
  if (!value || *value < min || *value > max)
    fail_at(*node, key, "expected an integer " + std::to_string(min) + "-" + std::to_string(max));
  return *value;
}

double TomlReader::optional_double(const char* key, double fallback) {
  const toml::node* node = take(key);
  if (node == nullptr) return fallback;
  if (auto i = node->value_exact<std::int64_t>()) return static_cast<double>(*i);
  auto value = node->value_exact<double>();
  if (!value) fail_at(*node, key, "expected a number");
  return *value;
}

bool TomlReader::optional_bool(const char* key, bool fallback) {
  const toml::node* node = take(key);
  if (node == nullptr) return fallback;
  auto value = node->value_exact<bool>();
  if (!value) fail_at(*node, key, "expected true or false");
  return *value;
}

std::vector<std::string> TomlReader::optional_string_array(const char* key) {
  const toml::node* node = take(key);
  std::vector<std::string> out;
  if (node == nullptr) return out;
  const toml::array* array = node->as_array();
  if (array == nullptr) fail_at(*node, key, "expected an array of strings");
  for (const toml::node& item : *array) {
    auto value = item.value_exact<std::string>();
    if (!value) fail_at(item, key, "expected an array of strings");
    out.push_back(*value);
  }
  return out;
}

const toml::table* TomlReader::optional_table(const char* key) {
  const toml::node* node = take(key);
  if (node == nullptr) return nullptr;
  if (!node->is_table()) fail_at(*node, key, "expected a table");
  return node->as_table();
}

std::vector<const toml::table*> TomlReader::table_array(const char* key) {
  const toml::node* node = take(key);
  std::vector<const toml::table*> out;
  if (node == nullptr) return out;
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables())
    fail_at(*node, key, "expected [[" + qualified(key) + "]] tables");
  for (const toml::node& item : *array) out.push_back(item.as_table());
  return out;
}

void TomlReader::reject_unknown_keys() const {
  for (const auto& [key, node] : table_)
    if (!seen_.contains(std::string(key.str())))
      throw ConfigError(position(file_, key.source()) + ": unknown key " + qualified(std::string(key.str())));
}

}  // namespace eg
