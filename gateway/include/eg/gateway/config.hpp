// Gateway configuration: the TOML file, parsed, validated and committed in one
// step. Defaults live here, in one commented struct. Every error names the
// file and line: "gateway.toml:12:9: local.qos: expected an integer 0-2".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "eg/common/toml_reader.hpp"
#include "eg/drivers/mapped_json.hpp"
#include "eg/proto/signed_command.hpp"

namespace eg::gateway {

using ConfigError = eg::ConfigError;

struct TlsConfig {
  bool enabled = false;
  std::string ca_file;    // PEM bundle to verify the server; empty: system store
  std::string cert_file;  // client certificate for mutual TLS
  std::string key_file;
  bool verify_server = true;
};

struct BrokerConfig {
  std::string uri;        // tcp://host:port, ssl://host:port
  std::string client_id;  // fixed, so the broker keeps our persistent session
  int qos = 1;
  std::string username;
  std::string password;  // from password_file (or inline, with allow_inline_secrets)
  int keep_alive_s = 30;
  TlsConfig tls;
};

struct LocalBrokerConfig : BrokerConfig {
  // Extra filters to subscribe beyond each driver route's own.
  std::vector<std::string> topics;
  // A larger MQTT packet is dropped unread (counted, its topic kept as a dead
  // letter): no publisher can make the gateway buffer more.
  std::size_t max_packet_kb = 256;
};

struct UpstreamBrokerConfig : BrokerConfig {
  std::string topic_prefix = "eldercare/v1";  // topics: <prefix>/<site>/<gateway>/<event|status|...>
  int max_inflight = 64;                      // publishes awaiting PUBACK at once
  double max_rate_per_s = 1000;               // event lane drain limit (alerts are never limited); 0: unlimited
};

// One publisher family under one base topic: subscribes "<base_topic>/#".
struct DriverRoute {
  std::string driver;      // a name from eg::drivers::known_drivers()
  std::string base_topic;  // defaults to the publisher's usual base topic
  // A device of this route silent for longer raises a CONDITION_SILENT health
  // event. Default 25 h: Zigbee2MQTT's own mark for battery devices.
  std::chrono::seconds silence_after{25 * 3600};
  int line = 0;  // where it was configured, for later error messages
};

struct DeviceEntry {
  std::string id;  // as the publisher names it: friendly name, IEEE address, IMEI...
  std::string resident;
  std::string room;
  std::string bed;
  // Button actions that mean "I am fine, cancel" (the resident's own cancel
  // button, or a double press on the SOS button): they acknowledge the
  // resident's active alerts, channel "device", instead of raising an SOS.
  // "*" makes every press of this device a cancel.
  std::vector<std::string> cancel_actions;
  // What the device is for, where rules tell devices of one kind apart:
  // doors are "exit", "inner", "bathroom" or "balcony" (night-wandering
  // rules watch exit doors). Empty: not given, and rules treat it as any.
  std::string role;
  // Where the device speaks (see device_bindings.hpp): the driver's name and
  // an MQTT filter its topics match. Empty: learned from its first message.
  std::string driver;
  std::string topic;
};

// Roles a [[devices]] entry may give.
inline const std::vector<std::string> kDeviceRoles = {"exit", "inner", "bathroom", "balcony"};

// A resident's rule settings (the registry side of the rule engine).
struct ResidentEntry {
  std::string id;
  std::vector<std::string> flags;           // "dementia", "living_alone", ...
  std::map<std::string, double> overrides;  // "<rule id>.<parameter>" -> value
};

// Where local escalation targets are told about alerts: MQTT topics on the
// local broker, read by the room's alarm sounder and the nurse station console.
struct EscalationConfig {
  std::string local_alarm_topic = "eldercare/local/alarm";
  std::string nurse_station_topic = "eldercare/local/nurse_station";
  // Acknowledgements from the console or a resident's cancel button arrive
  // here (protobuf eldercare.v1.Command), besides the platform's downlink.
  std::string local_command_topic = "eldercare/local/command";
  // A resident's own cancel ("I'm OK") this soon after an alert of theirs was
  // raised resolves it (the SOS it belongs to, or an alert raised by the
  // cancelling device); later it only acknowledges. 0: cancels only acknowledge.
  std::chrono::seconds cancel_resolves_within{120};
  // Maintenance notices: a ladder step that could not be reached. Empty: off.
  std::string maintenance_topic = "eldercare/local/maintenance";
};

// A family carer's notification gateway (SMS, WeChat, voice call service)
// that takes alerts as JSON over HTTP(S): the "family" rung of the ladders.
struct FamilyWebhookConfig {
  std::string url;                              // http://host[:port]/path or https://...
  std::vector<std::string> residents;           // whose alerts go here; empty: every resident's
  std::string token_file;                       // optional: "Authorization: Bearer <file content>"
  std::string ca_file;                          // https: trust anchors; empty: the system's
  std::chrono::milliseconds timeout{5000};      // per attempt: connect, send, reply
  int max_attempts = 6;                         // then the delivery is reported failed
  std::chrono::milliseconds first_retry{1000};  // doubles per attempt, up to 60 s
  int line = 0;                                 // where it was defined, for messages
};
struct FamilyConfig {
  std::vector<FamilyWebhookConfig> webhooks;
};

// One alarm receiver of an emergency-response centre (DC-09 over IP).
struct OperatorPathConfig {
  std::string host;
  std::uint16_t port = 0;
  std::string transport = "tcp";  // "tcp" or "udp"
};

// An alert's Contact ID code and zone (and SIA DCS codes), overriding the
// documented default for one rule (docs/operators.md).
struct OperatorCodeConfig {
  std::string rule;
  int code = 0;             // Contact ID event code, 100..999
  int zone = 0;             // 0..999
  std::string sia;          // SIA DCS alarm code, two letters; empty: default for the code
  std::string sia_restore;  // SIA DCS restore code
};

// [operator]: the DC-09 link to the emergency operators' alarm-receiving
// software, the last rung of the life-threatening ladder.
struct OperatorConfig {
  bool enabled = false;            // the [operator] table is present
  std::string format = "ADM-CID";  // or "SIA-DCS"
  std::string account;             // 3..16 hex digits, as the receiving centre assigned
  std::string receiver = "0";      // R field
  std::string line = "0";          // L field (account prefix)
  int partition = 1;               // Contact ID group / SIA area
  std::string aes_key_hex;         // empty: plain; else 32/48/64 hex digits (AES-128/192/256)
  int ack_timeout_ms = 5000;
  int attempts_per_path = 3;
  int retry_delay_ms = 500;
  int retry_pause_s = 10;
  int supervision_interval_s = 0;         // NULL messages per path; 0: off
  int test_report_interval_s = 0;         // Contact ID 602 periodic test; 0: off
  bool send_cancels = false;              // 406 when an alert is acknowledged locally before its operator step
  std::vector<OperatorPathConfig> paths;  // primary, then backup
  std::vector<OperatorCodeConfig> codes;
  int line_number = 0;  // where [operator] was, for later messages
};

// [commands]: who may acknowledge, resolve, mark a resident away or ask for a
// resend. Commands are SignedCommand messages checked against these keys;
// with no keys every command is refused (and the gateway says so at start).
struct CommandsConfig {
  std::string keys_file;  // resolved path ("credential:<name>" -> $CREDENTIALS_DIRECTORY/<name>)
  std::vector<proto::CommandKey> keys;
  std::chrono::seconds window{120};  // a command's time within this of ours, either way
  // A resend (platform only) reaches back at most this many sequence
  // numbers, and comes at most once per interval: each replays rows upstream.
  std::uint64_t resend_max_rows = 100'000;
  std::chrono::seconds resend_min_interval{60};
  int line = 0;
};

struct GatewayConfig {
  std::string source_file;
  std::string gateway_id;  // unique per edge box; part of every upstream topic
  std::string site;        // street/programme site code
  std::string database = "/var/lib/eldercare/gateway.db";
  std::string log_level = "info";  // trace, debug, info, warn, error
  // The site's offset from UTC, for publishers that send local time without a
  // zone (Tasmota, the Kati watch). Shanghai: +08:00, no daylight saving.
  std::chrono::minutes utc_offset{8 * 60};
  LocalBrokerConfig local;
  UpstreamBrokerConfig upstream;
  std::vector<DriverRoute> drivers;
  std::map<std::string, DeviceEntry, std::less<>> devices;  // by DeviceEntry::id
  std::vector<drivers::MappedSpec> mapped;                  // installer-described JSON devices ([[mapped]])
  std::string rules_file;  // rule pack (TOML), relative to this file; empty: no rule engine
  std::vector<ResidentEntry> residents;
  EscalationConfig escalation;
  OperatorConfig operator_link;
  FamilyConfig family;
  CommandsConfig commands;
  // Passwords and keys written inline in this file (password, aes_key) are
  // refused unless this is set: the main config is shared with installers.
  bool allow_inline_secrets = false;
  std::uint16_t http_port = 0;  // metrics/health endpoint on 127.0.0.1; 0: off
  int status_interval_s = 60;   // how often GatewayStatus is refreshed upstream
  // Store bounds. Over the cap, routine readings are dropped oldest first;
  // alerts and safety events never are. Delivered rows go after retention.
  double max_database_mb = 1024;
  int retention_days = 7;
  double min_free_disk_mb = 200;  // below: a gateway-health event (disk_low)
  // Untrusted input cannot grow the gateway without bound: dead letters are
  // pruned to this many (and to retention_days); per-device state for
  // devices outside the registry is capped, least recently heard forgotten.
  std::size_t max_dead_letters = 10'000;
  std::size_t max_tracked_devices = 5'000;
  // Routine readings (vitals, presence, bed, meter) one device may send: a
  // sustained rate and a burst. Past it they are dropped and counted, so a
  // flooding device cannot crowd out its neighbours; alarms are never
  // dropped. 0 per second: no limit.
  double device_readings_per_s = 20;
  double device_reading_burst = 200;
  // How long a group of writes may gather before its commit. 0: commit at the
  // next turn of the loop, after every message already received is handled;
  // under load the groups grow by themselves, when idle each message goes at
  // once (fdatasync costs ~0.3 ms here). A few ms on slow flash trades
  // latency for fewer syncs.
  std::chrono::milliseconds commit_delay{0};
};

// Reads and validates `path`. Throws ConfigError with "file:line:col: reason".
GatewayConfig load_config(const std::string& path);
// The same, from text (tests); `name` stands in for the file name in errors.
GatewayConfig parse_config(std::string_view text, const std::string& name);

}  // namespace eg::gateway
