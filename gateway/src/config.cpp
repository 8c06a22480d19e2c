#include "eg/gateway/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "eg/common/toml_reader.hpp"
#include "eg/drivers/registry.hpp"
#include "eg/proto/event_kind_words.hpp"
#include "secret_file.hpp"

namespace eg::gateway {
namespace {

// A secret named by `key` (a path, or "credential:<name>"): its content, or
// an error at that line saying what is wrong with the file.
std::string read_secret(TomlReader& in, const char* key, const std::string& file) {
  std::string configured = in.optional_string(key, "");
  if (configured.empty()) return "";
  try {
    return read_secret_file(resolve_secret_path(configured, file));
  } catch (const SecretFileError& error) {
    in.fail_at_key(key, error.what());
  }
}

// The first word of a secret file: a trailing newline is not part of it.
std::string first_word(const std::string& text) {
  std::istringstream words(text);
  std::string word;
  words >> word;
  return word;
}

void refuse_inline_secret(TomlReader& in, const char* key, const std::string& value, bool allowed,
                          const char* instead) {
  if (!value.empty() && !allowed)
    in.fail_at_key(key, std::string("a secret does not belong in the main config: put it in a file of mode 0600 (or a "
                                    "systemd credential) and name it with ") +
                            instead + ", or set gateway.allow_inline_secrets = true on a test bench");
}

void read_tls(TomlReader& parent, TlsConfig& tls) {
  const toml::table* table = parent.optional_table("tls");
  if (table == nullptr) return;
  TomlReader in(*table, parent.file(), parent.qualified("tls"));
  tls.enabled = in.optional_bool("enabled", true);
  tls.ca_file = in.optional_string("ca_file", "");
  tls.cert_file = in.optional_string("cert_file", "");
  tls.key_file = in.optional_string("key_file", "");
  tls.verify_server = in.optional_bool("verify_server", true);
  in.reject_unknown_keys();
  if (tls.cert_file.empty() != tls.key_file.empty())
    in.fail_here(parent.qualified("tls") + ": cert_file and key_file go together (mutual TLS)");
}

void read_broker(TomlReader& in, BrokerConfig& broker, const std::string& default_client_id, bool inline_secrets) {
  broker.uri = in.required_string("uri");
  if (!broker.uri.starts_with("tcp://") && !broker.uri.starts_with("ssl://") && !broker.uri.starts_with("mqtt://") &&
      !broker.uri.starts_with("mqtts://"))
    in.fail_here(in.qualified("uri") + ": expected tcp://, ssl://, mqtt:// or mqtts://host:port, got '" + broker.uri +
                 "'");
  broker.client_id = in.optional_string("client_id", default_client_id);
  broker.qos = static_cast<int>(in.optional_int("qos", 1, 0, 2));
  broker.username = in.optional_string("username", "");
  broker.password = in.optional_string("password", "");
  refuse_inline_secret(in, "password", broker.password, inline_secrets, "password_file");
  if (std::string from_file = first_word(read_secret(in, "password_file", in.file())); !from_file.empty()) {
    if (!broker.password.empty()) in.fail_at_key("password_file", "give password or password_file, not both");
    broker.password = from_file;
  }
  broker.keep_alive_s = static_cast<int>(in.optional_int("keep_alive_s", 30, 5, 3600));
  read_tls(in, broker.tls);
}

// A name a [[devices]] entry may pin: a built-in driver or a [[mapped]] one.
bool is_driver_name(const GatewayConfig& config, std::string_view name) {
  for (const auto& known : drivers::known_drivers())
    if (known.name == name) return true;
  for (const auto& spec : config.mapped)
    if (spec.name == name) return true;
  return false;
}

// An MQTT 3.1.1 topic filter (section 4.7.1): wildcards fill whole levels,
// and '#' only the last.
bool is_topic_filter(std::string_view filter) {
  if (filter.empty()) return false;
  std::size_t start = 0;
  while (true) {
    auto end = filter.find('/', start);
    auto level = filter.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    bool last = end == std::string_view::npos;
    if (level.find_first_of("+#") != std::string_view::npos && level.size() != 1) return false;
    if (level == "#" && !last) return false;
    if (last) return true;
    start = end + 1;
  }
}

// [[mapped]]: a JSON device described in config; checked by building its driver once.
drivers::MappedSpec read_mapped(const toml::table& table, const std::string& file) {
  TomlReader in(table, file, "mapped");
  drivers::MappedSpec spec;
  spec.name = in.required_string("name");
  spec.filters = in.optional_string_array("topics");
  if (spec.filters.empty()) in.fail_here("mapped.topics: at least one topic filter is required");
  std::string kind = in.required_string("kind");
  spec.kind = drivers::event_kind_from_word(kind);
  if (spec.kind == eldercare::v1::EVENT_KIND_UNSPECIFIED)
    in.fail_at(*table.get("kind"), "kind",
               "unknown kind '" + kind + "' (" + std::string(proto::event_kind_words()) + ")");
  spec.device_pointer = in.optional_string("device", "");
  spec.device_topic_level = static_cast<int>(in.optional_int("device_topic_level", -1, -1, 64));
  if (spec.device_pointer.empty() == (spec.device_topic_level < 0))
    in.fail_here("mapped: give exactly one of device (a JSON pointer) or device_topic_level");
  for (const toml::table* field_table : in.table_array("fields")) {
    TomlReader field_in(*field_table, file, "mapped.fields");
    drivers::MappedField field;
    field.target = field_in.required_string("target");
    field.pointer = field_in.required_string("pointer");
    field.scale = field_in.optional_double("scale", 1.0);
    field.offset = field_in.optional_double("offset", 0.0);
    if (const toml::table* values = field_in.optional_table("values")) {
      for (const auto& [vendor, ours] : *values) {
        auto word = ours.value_exact<std::string>();
        if (!word) field_in.fail_at(ours, "values", "map each vendor value to a string");
        field.values.emplace(std::string(vendor.str()), *word);
      }
    }
    field_in.reject_unknown_keys();
    spec.fields.push_back(std::move(field));
  }
  in.reject_unknown_keys();
  auto check = drivers::make_mapped_json_driver(spec);
  if (!check.ok()) in.fail_here("mapped '" + spec.name + "': " + check.error().reason);
  return spec;
}

bool is_hex(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789ABCDEFabcdef") == std::string::npos;
}

std::string upper_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

OperatorPathConfig read_operator_path(TomlReader& parent, const toml::table& table, const char* name) {
  TomlReader in(table, parent.file(), parent.qualified(name));
  OperatorPathConfig path;
  path.host = in.required_string("host");
  path.port = static_cast<std::uint16_t>(in.optional_int("port", 0, 1, 65535));
  if (path.port == 0) in.fail_here(in.qualified("port") + ": required (the alarm receiver's port)");
  path.transport = in.optional_string("transport", "tcp");
  if (path.transport != "tcp" && path.transport != "udp")
    in.fail_here(in.qualified("transport") + ": expected \"tcp\" or \"udp\", got \"" + path.transport + "\"");
  in.reject_unknown_keys();
  return path;
}

void read_family(const toml::table& table, const std::string& file, FamilyConfig& family) {
  TomlReader in(table, file, "family");
  for (const toml::table* hook_table : in.table_array("webhook")) {
    TomlReader h(*hook_table, file, "family.webhook");
    FamilyWebhookConfig hook;
    hook.line = static_cast<int>(hook_table->source().begin.line);
    hook.url = h.required_string("url");
    if (!hook.url.starts_with("http://") && !hook.url.starts_with("https://"))
      h.fail_at(*hook_table->get("url"), "url", "expected an http:// or https:// URL, got \"" + hook.url + "\"");
    hook.residents = h.optional_string_array("residents");
    hook.token_file = h.optional_string("token_file", "");
    hook.ca_file = h.optional_string("ca_file", "");
    hook.timeout = std::chrono::milliseconds(h.optional_int("timeout_ms", hook.timeout.count(), 100, 120'000));
    hook.max_attempts = static_cast<int>(h.optional_int("max_attempts", hook.max_attempts, 1, 100));
    hook.first_retry =
        std::chrono::milliseconds(h.optional_int("retry_delay_ms", hook.first_retry.count(), 10, 600'000));
    h.reject_unknown_keys();
    family.webhooks.push_back(std::move(hook));
  }
  in.reject_unknown_keys();
}

void read_operator(const toml::table& table, const std::string& file, OperatorConfig& op, bool inline_secrets) {
  TomlReader in(table, file, "operator");
  op.enabled = true;
  op.line_number = table.source().begin.line;
  op.format = in.optional_string("format", op.format);
  if (op.format != "ADM-CID" && op.format != "SIA-DCS")
    in.fail_here("operator.format: expected \"ADM-CID\" (Contact ID) or \"SIA-DCS\", got \"" + op.format + "\"");
  // Account, receiver and line are hex, sent as written: receivers match them
  // in upper case (iobroker.sia refuses "abc"), so "abc" is kept as "ABC".
  op.account = in.required_string("account");
  if (!is_hex(op.account) || op.account.size() < 3 || op.account.size() > 16)
    in.fail_at(*table.get("account"), "account", "3 to 16 hex digits (0-9, A-F), got \"" + op.account + "\"");
  op.account = upper_case(op.account);
  op.receiver = in.optional_string("receiver", op.receiver);
  op.line = in.optional_string("line", op.line);
  for (auto* field : {&op.receiver, &op.line}) {
    if (!is_hex(*field) || field->size() > 6) in.fail_here("operator.receiver and operator.line: 1 to 6 hex digits");
    *field = upper_case(*field);
  }
  op.partition = static_cast<int>(in.optional_int("partition", 1, 0, 99));
  op.aes_key_hex = in.optional_string("aes_key", "");
  // The key lives in its own file (mode 0600, or a systemd credential), so
  // the main config can be shared with installers without the secret.
  refuse_inline_secret(in, "aes_key", op.aes_key_hex, inline_secrets, "aes_key_file");
  const char* key_field = "aes_key";
  if (table.get("aes_key_file") != nullptr) {
    if (!op.aes_key_hex.empty()) in.fail_here("operator: give aes_key or aes_key_file, not both");
    key_field = "aes_key_file";
    op.aes_key_hex = first_word(read_secret(in, "aes_key_file", file));
    if (op.aes_key_hex.empty()) in.fail_at_key("aes_key_file", "the file is empty");
  }
  if (!op.aes_key_hex.empty() &&
      (!is_hex(op.aes_key_hex) ||
       (op.aes_key_hex.size() != 32 && op.aes_key_hex.size() != 48 && op.aes_key_hex.size() != 64)))
    in.fail_at(*table.get(key_field), key_field, "32, 48 or 64 hex digits (AES-128, -192, -256)");
  op.ack_timeout_ms = static_cast<int>(in.optional_int("ack_timeout_ms", op.ack_timeout_ms, 100, 120000));
  op.attempts_per_path = static_cast<int>(in.optional_int("attempts_per_path", op.attempts_per_path, 1, 20));
  op.retry_delay_ms = static_cast<int>(in.optional_int("retry_delay_ms", op.retry_delay_ms, 0, 60000));
  op.retry_pause_s = static_cast<int>(in.optional_int("retry_pause_s", op.retry_pause_s, 1, 3600));
  op.supervision_interval_s =
      static_cast<int>(in.optional_int("supervision_interval_s", op.supervision_interval_s, 0, 86400));
  op.test_report_interval_s =
      static_cast<int>(in.optional_int("test_report_interval_s", op.test_report_interval_s, 0, 7 * 86400));
  op.send_cancels = in.optional_bool("send_cancels", op.send_cancels);
  const toml::table* primary = in.optional_table("primary");
  if (primary == nullptr) in.fail_here("operator: [operator.primary] is required (the alarm receiver's host and port)");
  op.paths.push_back(read_operator_path(in, *primary, "primary"));
  if (const toml::table* backup = in.optional_table("backup"))
    op.paths.push_back(read_operator_path(in, *backup, "backup"));
  for (const toml::table* code_table : in.table_array("codes")) {
    TomlReader code_in(*code_table, file, "operator.codes");
    OperatorCodeConfig code;
    code.rule = code_in.required_string("rule");
    code.code = static_cast<int>(code_in.optional_int("code", 0, 100, 999));
    if (code.code == 0) code_in.fail_here("operator.codes: code is required (Contact ID event code 100-999)");
    code.zone = static_cast<int>(code_in.optional_int("zone", 0, 0, 999));
    code.sia = code_in.optional_string("sia", "");
    code.sia_restore = code_in.optional_string("sia_restore", "");
    for (const auto* sia : {&code.sia, &code.sia_restore})
      if (!sia->empty() && (sia->size() != 2 || !std::isupper(static_cast<unsigned char>((*sia)[0])) ||
                            !std::isupper(static_cast<unsigned char>((*sia)[1]))))
        code_in.fail_here("operator.codes: sia and sia_restore are two capital letters, e.g. \"MA\"");
    code_in.reject_unknown_keys();
    op.codes.push_back(std::move(code));
  }
  in.reject_unknown_keys();
}

// [commands]: the keys commands are signed with, and the limits on them.
void read_commands(const toml::table& table, const std::string& file, CommandsConfig& commands) {
  TomlReader in(table, file, "commands");
  commands.line = static_cast<int>(table.source().begin.line);
  if (table.get("keys_file") != nullptr) {
    std::string configured = in.optional_string("keys_file", "");
    std::string text = read_secret(in, "keys_file", file);
    try {
      commands.keys_file = resolve_secret_path(configured, file);
      commands.keys = proto::parse_command_keys(text, commands.keys_file);
    } catch (const std::exception& error) {  // KeyFileError names the keys file's own line
      in.fail_at_key("keys_file", error.what());
    }
    if (commands.keys.empty()) in.fail_at_key("keys_file", "'" + commands.keys_file + "' holds no key");
  }
  commands.window = std::chrono::seconds(in.optional_int("window_s", commands.window.count(), 5, 3600));
  commands.resend_max_rows = static_cast<std::uint64_t>(
      in.optional_int("resend_max_rows", static_cast<std::int64_t>(commands.resend_max_rows), 1, 100'000'000));
  commands.resend_min_interval =
      std::chrono::seconds(in.optional_int("resend_min_interval_s", commands.resend_min_interval.count(), 0, 86400));
  in.reject_unknown_keys();
}

GatewayConfig build(const toml::table& root, const std::string& file) {
  GatewayConfig config;
  config.source_file = file;
  TomlReader top(root, file, "");

  const toml::table* gateway = top.optional_table("gateway");
  if (gateway == nullptr) top.fail_here("missing required table [gateway]");
  {
    TomlReader in(*gateway, file, "gateway");
    config.gateway_id = in.required_string("id");
    config.site = in.required_string("site");
    for (const std::string* value : {&config.gateway_id, &config.site})
      if (value->find_first_of("/+#") != std::string::npos)
        in.fail_here("gateway.id and gateway.site become MQTT topic levels: no '/', '+' or '#'");
    config.database = in.optional_string("database", config.database);
    config.log_level = in.optional_string("log_level", config.log_level);
    config.allow_inline_secrets = in.optional_bool("allow_inline_secrets", false);
    std::string offset = in.optional_string("utc_offset", "+08:00");
    int oh = 0, om = 0;
    if (offset.size() != 6 || (offset[0] != '+' && offset[0] != '-') || offset[3] != ':' ||
        std::sscanf(offset.c_str() + 1, "%2d:%2d", &oh, &om) != 2 || oh > 14 || om > 59)
      in.fail_here("gateway.utc_offset: expected \"+HH:MM\" or \"-HH:MM\", got \"" + offset + "\"");
    config.utc_offset = std::chrono::minutes((offset[0] == '-' ? -1 : 1) * (oh * 60 + om));
    if (config.log_level != "trace" && config.log_level != "debug" && config.log_level != "info" &&
        config.log_level != "warn" && config.log_level != "error")
      in.fail_here("gateway.log_level: expected trace, debug, info, warn or error");
    config.http_port = static_cast<std::uint16_t>(in.optional_int("http_port", 0, 0, 65535));
    config.status_interval_s = static_cast<int>(in.optional_int("status_interval_s", 60, 1, 86400));
    config.max_database_mb = in.optional_double("max_database_mb", config.max_database_mb);
    if (!(config.max_database_mb > 0)) in.fail_here("gateway.max_database_mb must be positive");
    config.retention_days = static_cast<int>(in.optional_int("retention_days", 7, 1, 3650));
    config.min_free_disk_mb = in.optional_double("min_free_disk_mb", config.min_free_disk_mb);
    if (config.min_free_disk_mb < 0) in.fail_here("gateway.min_free_disk_mb cannot be negative");
    config.max_dead_letters = static_cast<std::size_t>(in.optional_int("max_dead_letters", 10'000, 100, 10'000'000));
    config.commit_delay = std::chrono::milliseconds(in.optional_int("commit_delay_ms", 0, 0, 1000));
    config.max_tracked_devices =
        static_cast<std::size_t>(in.optional_int("max_tracked_devices", 5'000, 100, 10'000'000));
    config.device_readings_per_s = in.optional_double("device_readings_per_s", config.device_readings_per_s);
    if (config.device_readings_per_s < 0)
      in.fail_at_key("device_readings_per_s", "cannot be negative (0 turns the per-device limit off)");
    config.device_reading_burst = in.optional_double("device_reading_burst", config.device_reading_burst);
    if (config.device_reading_burst < 1) in.fail_at_key("device_reading_burst", "must be at least 1");
    config.rules_file = in.optional_string("rules", "");
    // A relative rule file lives beside the config that names it.
    if (!config.rules_file.empty() && config.rules_file.front() != '/') {
      auto slash = file.rfind('/');
      if (slash != std::string::npos) config.rules_file = file.substr(0, slash + 1) + config.rules_file;
    }
    in.reject_unknown_keys();
  }

  const toml::table* local = top.optional_table("local");
  if (local == nullptr) top.fail_here("missing required table [local]");
  {
    TomlReader in(*local, file, "local");
    read_broker(in, config.local, "eldercare-" + config.gateway_id + "-local", config.allow_inline_secrets);
    config.local.topics = in.optional_string_array("topics");
    config.local.max_packet_kb = static_cast<std::size_t>(in.optional_int("max_packet_kb", 256, 1, 256 * 1024));
    in.reject_unknown_keys();
  }

  const toml::table* upstream = top.optional_table("upstream");
  if (upstream == nullptr) top.fail_here("missing required table [upstream]");
  {
    TomlReader in(*upstream, file, "upstream");
    read_broker(in, config.upstream, "eldercare-" + config.gateway_id, config.allow_inline_secrets);
    config.upstream.topic_prefix = in.optional_string("topic_prefix", config.upstream.topic_prefix);
    config.upstream.max_inflight = static_cast<int>(in.optional_int("max_inflight", 64, 1, 65535));
    config.upstream.max_rate_per_s = in.optional_double("max_rate_per_s", config.upstream.max_rate_per_s);
    if (config.upstream.max_rate_per_s < 0) in.fail_here("upstream.max_rate_per_s cannot be negative");
    in.reject_unknown_keys();
  }

  for (const toml::table* table : top.table_array("drivers")) {
    TomlReader in(*table, file, "drivers");
    DriverRoute route;
    route.line = static_cast<int>(table->source().begin.line);
    route.driver = in.required_string("driver");
    const drivers::DriverInfo* info = nullptr;
    for (const auto& known : drivers::known_drivers())
      if (known.name == route.driver) info = &known;
    if (info == nullptr) {
      std::string names;
      for (const auto& known : drivers::known_drivers()) names += (names.empty() ? "" : ", ") + std::string(known.name);
      in.fail_at(*table->get("driver"), "driver", "unknown driver '" + route.driver + "' (known: " + names + ")");
    }
    route.base_topic = in.optional_string("base_topic", std::string(info->default_base_topic));
    route.silence_after = std::chrono::seconds(in.optional_int("silence_after_s", 25 * 3600, 60, 30 * 86400));
    in.reject_unknown_keys();
    config.drivers.push_back(std::move(route));
  }
  if (config.drivers.empty()) {
    // No [[drivers]]: route every known publisher at its usual base topic.
    for (const auto& known : drivers::known_drivers())
      config.drivers.push_back({std::string(known.name), std::string(known.default_base_topic)});
  }

  for (const toml::table* table : top.table_array("mapped")) config.mapped.push_back(read_mapped(*table, file));

  for (const toml::table* table : top.table_array("devices")) {
    TomlReader in(*table, file, "devices");
    DeviceEntry device;
    device.id = in.required_string("id");
    device.resident = in.optional_string("resident", "");
    device.room = in.optional_string("room", "");
    device.bed = in.optional_string("bed", "");
    device.cancel_actions = in.optional_string_array("cancel_actions");
    device.role = in.optional_string("role", "");
    if (!device.role.empty() && std::find(kDeviceRoles.begin(), kDeviceRoles.end(), device.role) == kDeviceRoles.end())
      in.fail_at(*table->get("role"), "role", "'" + device.role + "' is not one of exit, inner, bathroom, balcony");
    device.driver = in.optional_string("driver", "");
    if (!device.driver.empty() && !is_driver_name(config, device.driver))
      in.fail_at(*table->get("driver"), "driver", "no driver or [[mapped]] entry is named '" + device.driver + "'");
    device.topic = in.optional_string("topic", "");
    if (!device.topic.empty() && !is_topic_filter(device.topic))
      in.fail_at(*table->get("topic"), "topic",
                 "'" + device.topic + "' is not an MQTT topic filter ('+' and '#' only as whole levels, '#' last)");
    in.reject_unknown_keys();
    if (config.devices.contains(device.id))
      in.fail_at(*table->get("id"), "id", "device '" + device.id + "' is listed twice");
    config.devices.emplace(device.id, std::move(device));
  }

  for (const toml::table* table : top.table_array("residents")) {
    TomlReader in(*table, file, "residents");
    ResidentEntry resident;
    resident.id = in.required_string("id");
    resident.flags = in.optional_string_array("flags");
    if (const toml::table* overrides = in.optional_table("overrides"))
      for (const auto& [key, node] : *overrides) {
        auto value = node.value<double>();
        if (!value || !(node.is_integer() || node.is_floating_point()))
          in.fail_at(node, "overrides", "'" + std::string(key.str()) + "' must be a number");
        resident.overrides[std::string(key.str())] = *value;
      }
    in.reject_unknown_keys();
    config.residents.push_back(std::move(resident));
  }

  if (const toml::table* escalation = top.optional_table("escalation")) {
    TomlReader in(*escalation, file, "escalation");
    auto& e = config.escalation;
    e.local_alarm_topic = in.optional_string("local_alarm_topic", e.local_alarm_topic);
    e.nurse_station_topic = in.optional_string("nurse_station_topic", e.nurse_station_topic);
    e.local_command_topic = in.optional_string("local_command_topic", e.local_command_topic);
    e.maintenance_topic = in.optional_string("maintenance_topic", e.maintenance_topic);
    e.cancel_resolves_within =
        std::chrono::seconds(in.optional_int("cancel_resolves_within_s", e.cancel_resolves_within.count(), 0, 3600));
    in.reject_unknown_keys();
  }

  if (const toml::table* table = top.optional_table("operator"))
    read_operator(*table, file, config.operator_link, config.allow_inline_secrets);
  if (const toml::table* table = top.optional_table("family")) read_family(*table, file, config.family);
  if (const toml::table* table = top.optional_table("commands")) read_commands(*table, file, config.commands);

  top.reject_unknown_keys();
  return config;
}

}  // namespace

GatewayConfig parse_config(std::string_view text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& error) {
    throw ConfigError(position(name, error.source()) + ": " + std::string(error.description()));
  }
  return build(root, name);
}

GatewayConfig load_config(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw ConfigError(path + ": cannot open configuration file");
  std::ostringstream text;
  text << stream.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace eg::gateway
