#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "eg/dc09/frame.hpp"
#include "eg/gateway/config.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

using eg::gateway::ConfigError;
using eg::gateway::parse_config;

namespace {

const std::string kMinimal = R"([gateway]
id = "gw-1"
site = "site-a"

[local]
uri = "tcp://127.0.0.1:1883"

[upstream]
uri = "ssl://platform.example:8883"
)";

// A test bench's config, where inline secrets are allowed: one line longer.
std::string with_inline_secrets(std::string text) {
  return text.insert(text.find("\n[local]"), "\nallow_inline_secrets = true");
}

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "gw.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("config: a minimal file gets documented defaults", "[gateway][config]") {
  auto config = parse_config(kMinimal, "gw.toml");
  CHECK(config.gateway_id == "gw-1");
  CHECK(config.site == "site-a");
  CHECK(config.local.qos == 1);
  CHECK(config.local.client_id == "eldercare-gw-1-local");
  CHECK(config.upstream.client_id == "eldercare-gw-1");
  CHECK(config.upstream.topic_prefix == "eldercare/v1");
  REQUIRE(config.drivers.size() >= 1);
  CHECK(config.drivers[0].driver == "zigbee2mqtt");
  CHECK(config.drivers[0].base_topic == "zigbee2mqtt");
}

TEST_CASE("config: the shipped example is valid", "[gateway][config]") {
  // Its command keys are a systemd credential, as the unit loads them.
  eg::test::TempDir credentials;
  credentials.secret_file("command-keys", "nurse-7 staff " + std::string(64, 'a') + "\n");
  credentials.secret_file("broker-password", "s3cret\n");
  ::setenv("CREDENTIALS_DIRECTORY", credentials.path().c_str(), 1);
  auto config = eg::gateway::load_config(EG_SOURCE_DIR "/config/gateway.toml");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  CHECK(config.commands.keys.size() == 1);
  CHECK(config.local.username == "eldercare-gateway");
  CHECK(config.local.password == "s3cret");
  CHECK(config.devices.count("room301_radar") == 1);
  CHECK(config.devices.at("room301_radar").resident == "r-301-a");
}

TEST_CASE("config: a wrong type names file, line, key and expectation", "[gateway][config]") {
  std::string text = kMinimal;
  text.replace(text.find("[local]\n") + 8, 0, "qos = \"high\"\n");
  CHECK(error_of(text) == "gw.toml:6:7: local.qos: expected an integer 0-2");
}

TEST_CASE("config: an unknown key is rejected at its position", "[gateway][config]") {
  std::string text = kMinimal;
  text.replace(text.find("[local]\n") + 8, 0, "retry_forever = true\n");
  CHECK(error_of(text) == "gw.toml:6:1: unknown key local.retry_forever");
  CHECK(error_of(kMinimal + "[extra]\nx = 1\n") == "gw.toml:10:2: unknown key extra");
}

TEST_CASE("config: a missing required key points at its table", "[gateway][config]") {
  std::string text = kMinimal;
  text.erase(text.find("site = \"site-a\"\n"), 16);
  CHECK(error_of(text) == "gw.toml:1:1: missing required key gateway.site");
  std::string no_upstream = kMinimal.substr(0, kMinimal.find("[upstream]"));
  CHECK(error_of(no_upstream) == "gw.toml:1:1: missing required table [upstream]");
}

TEST_CASE("config: other mistakes installers make are caught", "[gateway][config]") {
  CHECK(error_of("[gateway\n").starts_with("gw.toml:1:"));  // TOML syntax
  std::string bad_driver = kMinimal + "[[drivers]]\ndriver = \"zigbee\"\n";
  CHECK(error_of(bad_driver).starts_with("gw.toml:11:10: drivers.driver: unknown driver 'zigbee'"));
  std::string bad_uri = kMinimal;
  bad_uri.replace(bad_uri.find("tcp://"), 6, "http://");
  CHECK(error_of(bad_uri).find("local.uri: expected tcp://") != std::string::npos);
  std::string twice = kMinimal + "[[devices]]\nid = \"a\"\n[[devices]]\nid = \"a\"\n";
  CHECK(error_of(twice) == "gw.toml:13:6: devices.id: device 'a' is listed twice");
  std::string slash = kMinimal;
  slash.replace(slash.find("site-a"), 6, "site/a");
  CHECK(error_of(slash).find("no '/', '+' or '#'") != std::string::npos);
}

TEST_CASE("eldercare-gatewayd --check-config exits 2 with one line naming file and line", "[gateway][config]") {
  eg::test::TempDir dir;
  struct Case {
    const char* name;
    std::string text;
    std::string expected_line;
  };
  std::string wrong_type = kMinimal;
  wrong_type.replace(wrong_type.find("[local]\n") + 8, 0, "qos = \"high\"\n");
  std::string unknown_key = kMinimal + "[extra]\nx = 1\n";
  std::string missing = kMinimal;
  missing.erase(missing.find("id = \"gw-1\"\n"), 12);
  for (const Case& c : {Case{"wrong-type", wrong_type, ":6:7: local.qos: expected an integer 0-2"},
                        Case{"unknown-key", unknown_key, ":10:2: unknown key extra"},
                        Case{"missing-key", missing, ":1:1: missing required key gateway.id"}}) {
    std::string path = dir.file(std::string(c.name) + ".toml");
    std::ofstream(path) << c.text;
    auto result = eg::test::run_command({EG_GATEWAYD, "--check-config", path});
    INFO(c.name << ": " << result.output);
    CHECK(result.exit_code == 2);
    CHECK(result.output == path + c.expected_line + "\n");
  }
  std::string good = dir.file("good.toml");
  std::ofstream(good) << kMinimal;
  auto ok = eg::test::run_command({EG_GATEWAYD, "--check-config", good});
  CHECK(ok.exit_code == 0);
  auto missing_file = eg::test::run_command({EG_GATEWAYD, "--check-config", dir.file("absent.toml")});
  CHECK(missing_file.exit_code == 2);
}

TEST_CASE("config: an installer's mapped JSON device is read and checked", "[gateway][config]") {
  std::string mapped = kMinimal + R"(
[[mapped]]
name = "acme-bed"
topics = ["acme/+/vitals"]
kind = "vitals"
device_topic_level = 1
[[mapped.fields]]
target = "heart_rate_bpm"
pointer = "/data/hr"
)";
  auto config = parse_config(mapped, "gw.toml");
  REQUIRE(config.mapped.size() == 1);
  CHECK(config.mapped[0].name == "acme-bed");
  CHECK(config.mapped[0].fields.at(0).pointer == "/data/hr");

  std::string wrong_target = mapped;
  wrong_target.replace(wrong_target.find("heart_rate_bpm"), 14, "open");
  CHECK(error_of(wrong_target).starts_with("gw.toml:11:1: mapped 'acme-bed': field 'open' does not belong"));
  std::string bad_kind = mapped;
  bad_kind.replace(bad_kind.find("\"vitals\""), 8, "\"pulse\"");
  CHECK(error_of(bad_kind).starts_with("gw.toml:14:8: mapped.kind: unknown kind 'pulse'"));
}

TEST_CASE("config: [operator] sets up the DC-09 link with documented defaults", "[gateway][config]") {
  auto config = parse_config(with_inline_secrets(kMinimal) + R"(
[operator]
account = "12AB"
aes_key = "00112233445566778899AABBCCDDEEFF"
supervision_interval_s = 90
[operator.primary]
host = "10.0.0.5"
port = 12000
[operator.backup]
host = "10.0.0.6"
port = 12001
transport = "udp"
[[operator.codes]]
rule = "fall"
code = 101
zone = 7
sia = "MA"
)",
                             "gw.toml");
  const auto& op = config.operator_link;
  CHECK(op.enabled);
  CHECK(op.format == "ADM-CID");
  CHECK(op.account == "12AB");
  CHECK(op.receiver == "0");
  CHECK(op.line == "0");
  CHECK(op.partition == 1);
  CHECK(op.ack_timeout_ms == 5000);
  CHECK(op.attempts_per_path == 3);
  CHECK(op.supervision_interval_s == 90);
  CHECK_FALSE(op.send_cancels);
  REQUIRE(op.paths.size() == 2);
  CHECK(op.paths[0].transport == "tcp");
  CHECK(op.paths[1].transport == "udp");
  CHECK(op.paths[1].port == 12001);
  REQUIRE(op.codes.size() == 1);
  CHECK(op.codes[0].zone == 7);
  CHECK_FALSE(parse_config(kMinimal, "gw.toml").operator_link.enabled);
}

TEST_CASE("config: a lower-case operator account, receiver and line are sent in upper case", "[gateway][config]") {
  auto config = parse_config(kMinimal + R"(
[operator]
account = "abc"
receiver = "1f"
line = "a"
[operator.primary]
host = "10.0.0.5"
port = 12000
)",
                             "gw.toml");
  const auto& op = config.operator_link;
  CHECK(op.account == "ABC");
  CHECK(op.receiver == "1F");
  CHECK(op.line == "A");
  eg::dc09::Message message;
  message.token = "ADM-CID";
  message.account = op.account;
  message.receiver = op.receiver;
  message.line = op.line;
  CHECK(eg::dc09::encode(message, {}).find("\"ADM-CID\"0001R1FLA#ABC[") != std::string::npos);
}

TEST_CASE("config: a broken [operator] is rejected with its position and reason", "[gateway][config]") {
  const std::string primary = "[operator.primary]\nhost = \"10.0.0.5\"\nport = 12000\n";
  CHECK(error_of(kMinimal + "[operator]\naccount = \"12G4\"\n" + primary) ==
        "gw.toml:11:11: operator.account: 3 to 16 hex digits (0-9, A-F), got \"12G4\"");
  CHECK(error_of(with_inline_secrets(kMinimal) + "[operator]\naccount = \"1234\"\naes_key = \"0011\"\n" + primary) ==
        "gw.toml:13:11: operator.aes_key: 32, 48 or 64 hex digits (AES-128, -192, -256)");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\n") ==
        "gw.toml:10:1: operator: [operator.primary] is required (the alarm receiver's host and port)");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\nreceiver = \"None\"\n" + primary) ==
        "gw.toml:10:1: operator.receiver and operator.line: 1 to 6 hex digits");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\npartition = 100\n" + primary) ==
        "gw.toml:12:13: operator.partition: expected an integer 0-99");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\n[operator.primary]\nhost = \"10.0.0.5\"\nport = 0\n") ==
        "gw.toml:14:8: operator.primary.port: expected an integer 1-65535");
  CHECK(
      error_of(kMinimal + "[[devices]]\nid = \"sos1\"\ncancel_actions = \"double\"\n").find("devices.cancel_actions") !=
      std::string::npos);
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\n" + primary + "transport = \"sctp\"\n") ==
        "gw.toml:12:1: operator.primary.transport: expected \"tcp\" or \"udp\", got \"sctp\"");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\nformat = \"CID\"\n" + primary) ==
        "gw.toml:10:1: operator.format: expected \"ADM-CID\" (Contact ID) or \"SIA-DCS\", got \"CID\"");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\n" + primary +
                 "[[operator.codes]]\nrule = \"fall\"\ncode = 101\nsia = \"ma\"\n") ==
        "gw.toml:15:1: operator.codes: sia and sia_restore are two capital letters, e.g. \"MA\"");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\n" + primary +
                 "[[operator.codes]]\nrule = \"fall\"\ncode = 99\n") ==
        "gw.toml:17:8: operator.codes.code: expected an integer 100-999");
}

TEST_CASE("config: a device's cancel actions are read", "[gateway][config]") {
  auto config = parse_config(
      kMinimal + "[[devices]]\nid = \"sos1\"\nresident = \"r-1\"\ncancel_actions = [\"double\"]\n", "gw.toml");
  CHECK(config.devices.at("sos1").cancel_actions == std::vector<std::string>{"double"});
}

TEST_CASE("config: the operator's AES key can live in its own file", "[gateway][config]") {
  eg::test::TempDir dir;
  dir.secret_file("dc09.key", "  00112233445566778899AABBCCDDEEFF\n");
  dir.secret_file("bad.key", "0011\n");
  const std::string primary = "[operator.primary]\nhost = \"10.0.0.5\"\nport = 12000\n";
  auto config = parse_config(
      kMinimal + "[operator]\naccount = \"1234\"\naes_key_file = \"" + dir.file("dc09.key") + "\"\n" + primary,
      "gw.toml");
  CHECK(config.operator_link.aes_key_hex == "00112233445566778899AABBCCDDEEFF");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\naes_key_file = \"" + dir.file("bad.key") + "\"\n" +
                 primary) == "gw.toml:12:16: operator.aes_key_file: 32, 48 or 64 hex digits (AES-128, -192, -256)");
  CHECK(error_of(kMinimal + "[operator]\naccount = \"1234\"\naes_key_file = \"" + dir.file("missing.key") + "\"\n" +
                 primary)
            .find("operator.aes_key_file: cannot read") != std::string::npos);
  CHECK(error_of(with_inline_secrets(kMinimal) +
                 "[operator]\naccount = \"1234\"\naes_key = "
                 "\"00112233445566778899AABBCCDDEEFF\"\n" +
                 "aes_key_file = \"" + dir.file("dc09.key") + "\"\n" + primary) ==
        "gw.toml:11:1: operator: give aes_key or aes_key_file, not both");
}

TEST_CASE("config: secrets come from files only their owner can read, or systemd credentials", "[gateway][config]") {
  eg::test::TempDir dir;
  const std::string primary = "[operator.primary]\nhost = \"10.0.0.5\"\nport = 12000\n";
  // Inline: refused unless the bench says so.
  CHECK(
      error_of(kMinimal + "[operator]\naccount = \"1234\"\naes_key = \"00112233445566778899AABBCCDDEEFF\"\n" + primary)
          .starts_with("gw.toml:12:11: operator.aes_key: a secret does not belong in the main config"));
  std::string with_password = kMinimal;
  with_password.insert(with_password.find("\n[upstream]"), "\npassword = \"hunter2\"");
  CHECK(error_of(with_password).starts_with("gw.toml:8:12: local.password: a secret does not belong"));
  // A file anyone on the box can read is refused, naming the fix.
  std::string open_file = dir.file("open.pass");
  std::ofstream(open_file) << "hunter2\n";
  std::filesystem::permissions(open_file, std::filesystem::perms(0644), std::filesystem::perm_options::replace);
  std::string by_file = kMinimal;
  by_file.insert(by_file.find("\n[upstream]"), "\npassword_file = \"" + open_file + "\"");
  CHECK(error_of(by_file) == "gw.toml:8:17: local.password_file: '" + open_file +
                                 "' is readable or writable by group or others (mode 0644); a secret must be mode "
                                 "0600: chmod 600 '" +
                                 open_file + "'");
  std::filesystem::permissions(open_file, std::filesystem::perms(0600), std::filesystem::perm_options::replace);
  CHECK(parse_config(by_file, "gw.toml").local.password == "hunter2");
  // credential:<name> is read from systemd's $CREDENTIALS_DIRECTORY.
  dir.secret_file("upstream-password", "s3cret\n");
  std::string by_credential = kMinimal + "password_file = \"credential:upstream-password\"\n";
  ::unsetenv("CREDENTIALS_DIRECTORY");
  CHECK(error_of(by_credential).find("$CREDENTIALS_DIRECTORY is not set") != std::string::npos);
  ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  CHECK(parse_config(by_credential, "gw.toml").upstream.password == "s3cret");
  ::unsetenv("CREDENTIALS_DIRECTORY");
}

TEST_CASE("config: [commands] reads the command keys and their limits", "[gateway][config][commands]") {
  eg::test::TempDir dir;
  const std::string secret(64, 'a');
  dir.secret_file("keys", "# staff and platform\nnurse-7 staff " + secret + "\nplatform platform " + secret + "\n");
  auto config = parse_config(
      kMinimal + "[commands]\nkeys_file = \"" + dir.file("keys") + "\"\nwindow_s = 60\nresend_min_interval_s = 300\n",
      "gw.toml");
  REQUIRE(config.commands.keys.size() == 2);
  CHECK(config.commands.keys[0].id == "nurse-7");
  CHECK(config.commands.keys[1].role == eg::proto::CommandKey::Role::kPlatform);
  CHECK(config.commands.keys[1].secret == std::string(32, '\xaa'));
  CHECK(config.commands.window == std::chrono::seconds(60));
  CHECK(config.commands.resend_min_interval == std::chrono::seconds(300));
  CHECK(parse_config(kMinimal, "gw.toml").commands.keys.empty());

  dir.secret_file("short", "nurse-7 staff abcd\n");
  CHECK(error_of(kMinimal + "[commands]\nkeys_file = \"" + dir.file("short") + "\"\n") ==
        "gw.toml:11:13: commands.keys_file: " + dir.file("short") +
            ":1: the secret of 'nurse-7' is shorter than 32 bytes (64 hex digits)");
  dir.secret_file("role", "\n\nnurse-7 admin " + secret + "\n");
  CHECK(error_of(kMinimal + "[commands]\nkeys_file = \"" + dir.file("role") + "\"\n")
            .ends_with(dir.file("role") + ":3: role 'admin' is neither staff nor platform"));
  dir.secret_file("empty", "# nobody yet\n");
  CHECK(error_of(kMinimal + "[commands]\nkeys_file = \"" + dir.file("empty") + "\"\n").ends_with("holds no key"));
}

TEST_CASE("config: the bounds and commit keys have defaults, take values, and reject bad ones at their position",
          "[gateway][config]") {
  auto defaults = parse_config(kMinimal, "gw.toml");
  CHECK(defaults.local.max_packet_kb == 256);
  CHECK(defaults.max_dead_letters == 10'000);
  CHECK(defaults.max_tracked_devices == 5'000);
  CHECK(defaults.commit_delay == std::chrono::milliseconds(0));

  auto with = [](const std::string& gateway_lines, const std::string& local_lines) {
    std::string text = kMinimal;
    text.replace(text.find("[local]\n") + 8, 0, local_lines);
    text.replace(text.find("site = \"site-a\"\n") + 16, 0, gateway_lines);
    return text;
  };
  auto set = parse_config(
      with("max_dead_letters = 500\nmax_tracked_devices = 100\ncommit_delay_ms = 3\n", "max_packet_kb = 64\n"),
      "gw.toml");
  CHECK(set.local.max_packet_kb == 64);
  CHECK(set.max_dead_letters == 500);
  CHECK(set.max_tracked_devices == 100);
  CHECK(set.commit_delay == std::chrono::milliseconds(3));

  // Each bad value: one line naming the file, the line and the key.
  auto bad_packet = error_of(with("", "max_packet_kb = \"big\"\n"));
  CHECK(bad_packet.starts_with("gw.toml:6:"));
  CHECK(bad_packet.find("local.max_packet_kb") != std::string::npos);
  auto zero_packet = error_of(with("", "max_packet_kb = 0\n"));
  CHECK(zero_packet.find("local.max_packet_kb") != std::string::npos);
  auto few_letters = error_of(with("max_dead_letters = 5\n", ""));
  CHECK(few_letters.starts_with("gw.toml:4:"));
  CHECK(few_letters.find("gateway.max_dead_letters") != std::string::npos);
  auto negative_delay = error_of(with("commit_delay_ms = -1\n", ""));
  CHECK(negative_delay.find("gateway.commit_delay_ms") != std::string::npos);
  auto devices_text = error_of(with("max_tracked_devices = 1.5\n", ""));
  CHECK(devices_text.find("gateway.max_tracked_devices") != std::string::npos);

  CHECK(defaults.device_readings_per_s == 20);
  CHECK(defaults.device_reading_burst == 200);
  auto flood = parse_config(with("device_readings_per_s = 0\ndevice_reading_burst = 10\n", ""), "gw.toml");
  CHECK(flood.device_readings_per_s == 0);
  CHECK(flood.device_reading_burst == 10);
  auto negative_rate = error_of(with("device_readings_per_s = -1\n", ""));
  CHECK(negative_rate.starts_with("gw.toml:4:"));
  CHECK(negative_rate.find("gateway.device_readings_per_s") != std::string::npos);
  CHECK(error_of(with("device_reading_burst = 0.5\n", "")).find("gateway.device_reading_burst") != std::string::npos);
}

TEST_CASE("eldercare-gatewayd --check-config warns about ladder steps this configuration cannot deliver",
          "[gateway][config]") {
  eg::test::TempDir dir;
  const std::string rules = std::string(EG_SOURCE_DIR) + "/rules/eldercare-default.toml";
  std::string bare = dir.file("bare.toml");
  std::ofstream(bare) << kMinimal.substr(0, kMinimal.find("\n[local]")) << "\nrules = \"" << rules << "\"\n"
                      << kMinimal.substr(kMinimal.find("[local]"));
  auto warned = eg::test::run_command({EG_GATEWAYD, "--check-config", bare});
  INFO(warned.output);
  CHECK(warned.exit_code == 0);
  CHECK_THAT(warned.output, Catch::Contains("warning: " + rules +
                                            ": ladder 'life-threatening' step 4 (operator) "
                                            "cannot deliver: no [operator] link is configured"));
  CHECK_THAT(warned.output, Catch::Contains("ladder 'urgent' step 3 (family) cannot deliver: no [[family.webhook]]"));
  CHECK_THAT(warned.output, Catch::Contains("rules: fall, fall-no-recovery, gas"));

  // With a family webhook and an operator link, every step has a channel.
  std::string wired = dir.file("wired.toml");
  std::ofstream(wired) << kMinimal.substr(0, kMinimal.find("\n[local]")) << "\nrules = \"" << rules << "\"\n"
                       << kMinimal.substr(kMinimal.find("[local]")) << R"(
[[family.webhook]]
url = "https://sms-gateway.example/notify"
[operator]
account = "1234"
[operator.primary]
host = "127.0.0.1"
port = 12000
)";
  auto quiet = eg::test::run_command({EG_GATEWAYD, "--check-config", wired});
  INFO(quiet.output);
  CHECK(quiet.exit_code == 0);
  CHECK_THAT(quiet.output, !Catch::Contains("warning"));
}

TEST_CASE("config: family webhooks are read and checked", "[gateway][config]") {
  auto config = parse_config(kMinimal + R"(
[[family.webhook]]
url = "http://127.0.0.1:8080/notify"
residents = ["r-1", "r-2"]
timeout_ms = 2000
max_attempts = 3
retry_delay_ms = 50
)",
                             "gw.toml");
  REQUIRE(config.family.webhooks.size() == 1);
  const auto& hook = config.family.webhooks[0];
  CHECK(hook.url == "http://127.0.0.1:8080/notify");
  CHECK(hook.residents == std::vector<std::string>{"r-1", "r-2"});
  CHECK(hook.timeout == std::chrono::milliseconds(2000));
  CHECK(hook.max_attempts == 3);
  CHECK(hook.first_retry == std::chrono::milliseconds(50));
  CHECK(error_of(kMinimal + "[[family.webhook]]\nurl = \"ftp://x\"\n") ==
        "gw.toml:11:7: family.webhook.url: expected an http:// or https:// URL, got \"ftp://x\"");
  CHECK(error_of(kMinimal + "[[family.webhook]]\nurl = \"http://x\"\nretries = 3\n") ==
        "gw.toml:12:1: unknown key family.webhook.retries");
}

TEST_CASE("config: escalation cancel window and maintenance topic are read, and a bad window is refused",
          "[gateway][config]") {
  auto config =
      parse_config(kMinimal + "[escalation]\ncancel_resolves_within_s = 30\nmaintenance_topic = \"m/t\"\n", "gw.toml");
  CHECK(config.escalation.cancel_resolves_within == std::chrono::seconds(30));
  CHECK(config.escalation.maintenance_topic == "m/t");
  CHECK_THAT(error_of(kMinimal + "[escalation]\ncancel_resolves_within_s = -1\n"),
             Catch::StartsWith("gw.toml:11:") && Catch::Contains("escalation.cancel_resolves_within_s"));
  CHECK_THAT(error_of(kMinimal + "[escalation]\ncancel_resolves_within_s = \"2m\"\n"),
             Catch::Contains("escalation.cancel_resolves_within_s"));
  CHECK_THAT(error_of(kMinimal + "[[family.webhook]]\nurl = \"http://x\"\nmax_attempts = 0\n"),
             Catch::StartsWith("gw.toml:12:") && Catch::Contains("family.webhook.max_attempts"));
}

TEST_CASE("config: a device's role is one of exit, inner, bathroom, balcony", "[gateway][config]") {
  auto config = parse_config(kMinimal + "[[devices]]\nid = \"d1\"\nrole = \"exit\"\n", "gw.toml");
  CHECK(config.devices.at("d1").role == "exit");
  CHECK(parse_config(kMinimal + "[[devices]]\nid = \"d1\"\n", "gw.toml").devices.at("d1").role.empty());
  CHECK(error_of(kMinimal + "[[devices]]\nid = \"d1\"\nrole = \"front\"\n") ==
        "gw.toml:12:8: devices.role: 'front' is not one of exit, inner, bathroom, balcony");
}

TEST_CASE("config: a device may pin the driver and topic it speaks through", "[gateway][config][bindings]") {
  auto config = parse_config(
      kMinimal + "[[devices]]\nid = \"bed7\"\ndriver = \"native\"\ntopic = \"eldercare/native/bed7/#\"\n", "gw.toml");
  CHECK(config.devices.at("bed7").driver == "native");
  CHECK(config.devices.at("bed7").topic == "eldercare/native/bed7/#");
  CHECK(error_of(kMinimal + "[[devices]]\nid = \"d1\"\ndriver = \"zigbee\"\n") ==
        "gw.toml:12:10: devices.driver: no driver or [[mapped]] entry is named 'zigbee'");
  CHECK(error_of(kMinimal + "[[devices]]\nid = \"d1\"\ntopic = \"a/#/b\"\n") ==
        "gw.toml:12:9: devices.topic: 'a/#/b' is not an MQTT topic filter ('+' and '#' only as whole levels, '#' "
        "last)");
  CHECK(error_of(kMinimal + "[[devices]]\nid = \"d1\"\ntopic = \"a/b+\"\n").find("not an MQTT topic filter") !=
        std::string::npos);
}
