// eldercare-sim: the sensors' side and the platform's side of a demo or test.
//   run    publish a scenario's messages at real speed or faster
//   watch  print what arrives upstream, protobuf decoded, one JSON line each
//   decode read sensor messages as JSON lines on stdin, print the normalized events
//   ack    acknowledge an alert as a nurse's console would
#include <google/protobuf/util/json_util.h>

#include <google/protobuf/util/time_util.h>
#include <mqtt/async_client.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "eg/common/tcp_nodelay.hpp"
#include "eg/proto/signed_command.hpp"
#include "eg/simulator/decoder.hpp"
#include "eg/simulator/scenario.hpp"
#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/command.pb.h"
#include "eldercare/v1/gateway_status.pb.h"
#include "eldercare/v1/sensor_event.pb.h"

namespace {

// Who we are to a broker that wants users (config/mosquitto): a user name, and
// the password in a file of its own (never on the command line, where `ps`
// shows it).
struct Credentials {
  std::string username;
  std::string password_file;
};
Credentials credentials;

std::unique_ptr<mqtt::async_client> connect(const std::string& uri, const std::string& client_id) {
  auto client = std::make_unique<mqtt::async_client>(uri, client_id, mqtt::create_options(MQTTVERSION_3_1_1));
  mqtt::connect_options options;
  options.set_clean_session(true);
  if (!credentials.username.empty()) options.set_user_name(credentials.username);
  if (!credentials.password_file.empty()) {
    std::ifstream file(credentials.password_file);
    std::string password;
    if (!(file >> password)) throw std::runtime_error("cannot read a password from " + credentials.password_file);
    options.set_password(password);
  }
  options.set_connect_timeout(5);
  client->connect(options)->wait();
  eg::set_nodelay_on_tcp_sockets();
  return client;
}

int run_scenario(const std::string& path, const std::string& broker, double speed) {
  auto steps = eg::simulator::load_scenario(path);
  auto client = connect(broker, "eldercare-sim-" + std::to_string(::getpid()));
  auto start = std::chrono::steady_clock::now();
  for (const auto& step : steps) {
    auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(step.at_s / speed));
    std::this_thread::sleep_until(due);  // pacing real sensors, not waiting for a condition
    client->publish(mqtt::make_message(step.topic, step.payload, 1, step.retain))->wait();
    std::cerr << "sim: t=" << step.at_s << "s " << step.topic << " " << step.payload << "\n";
  }
  client->disconnect()->wait();
  return 0;
}

// Decodes one upstream message by the last level of its topic.
nlohmann::json decode_upstream(const std::string& topic, const std::string& payload) {
  std::string leaf = topic.substr(topic.rfind('/') + 1);
  std::unique_ptr<google::protobuf::Message> message;
  if (leaf == "event") message = std::make_unique<eldercare::v1::SensorEvent>();
  if (leaf == "alert") message = std::make_unique<eldercare::v1::AlertTransition>();
  if (leaf == "status") message = std::make_unique<eldercare::v1::GatewayStatus>();
  if (leaf == "command") message = std::make_unique<eldercare::v1::Command>();
  nlohmann::json line{{"topic", topic}};
  if (!message) {
    line["error"] = "unknown message type for topic leaf '" + leaf + "'";
    return line;
  }
  if (!message->ParseFromString(payload)) {
    line["error"] = "payload is not a valid " + message->GetTypeName();
    return line;
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(*message, &json, options);
  line["type"] = message->GetDescriptor()->name();
  line["message"] = nlohmann::json::parse(json);
  return line;
}

int watch(const std::string& broker, const std::string& filter, int count, double timeout_s) {
  auto client = connect(broker, "eldercare-watch-" + std::to_string(::getpid()));
  client->start_consuming();
  client->subscribe(filter, 1)->wait();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                         std::chrono::duration<double>(timeout_s));
  int seen = 0;
  while ((count == 0 || seen < count) && std::chrono::steady_clock::now() < deadline) {
    mqtt::const_message_ptr message;
    if (!client->try_consume_message_for(&message, std::chrono::milliseconds(100)) || !message) continue;
    std::cout << decode_upstream(message->get_topic(), message->get_payload_str()).dump() << std::endl;
    ++seen;
  }
  client->disconnect()->wait();
  return (count == 0 || seen >= count) ? 0 : 1;
}

// Who signs a command: a keys file in the gateway's format (docs/security.md)
// and the id of the key in it to sign with.
struct Signer {
  std::string key_file;
  std::string key_id;
};

// A command id nobody can guess or repeat: 128 random bits.
std::string random_command_id() {
  std::random_device random;
  std::ostringstream id;
  id << "sim-" << std::hex;
  for (int i = 0; i < 4; ++i) id << std::setw(8) << std::setfill('0') << random();
  return id.str();
}

// Publishes a command, signed, as a nurse's console or the platform would.
int send_command(const std::string& broker, const std::string& topic, eldercare::v1::Command command,
                 const std::string& actor, const std::string& channel, const Signer& signer, const std::string& said) {
  std::ifstream file(signer.key_file, std::ios::binary);
  if (!file) {
    std::cerr << "eldercare-sim: cannot read key file '" << signer.key_file << "'\n";
    return 2;
  }
  std::ostringstream text;
  text << file.rdbuf();
  const std::string key_id = signer.key_id.empty() ? actor : signer.key_id;
  const eg::proto::CommandKey* key = nullptr;
  auto keys = eg::proto::parse_command_keys(text.str(), signer.key_file);
  for (const auto& candidate : keys)
    if (candidate.id == key_id) key = &candidate;
  if (key == nullptr) {
    std::cerr << "eldercare-sim: no key '" << key_id << "' in " << signer.key_file << "\n";
    return 2;
  }
  command.set_id(random_command_id());
  *command.mutable_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  command.set_actor(actor);
  command.set_channel(channel);
  auto client = connect(broker, "eldercare-cmd-" + std::to_string(::getpid()));
  client->publish(mqtt::make_message(topic, eg::proto::sign_command(command, key->id, key->secret), 1, false))->wait();
  client->disconnect()->wait();
  std::cerr << "sim: " << said << " as " << actor << " via " << channel << ", signed with key " << key->id << "\n";
  return 0;
}

// One JSON line in, one JSON line out, in order, until end of input.
int decode_stream() {
  eg::simulator::StreamDecoder decoder;
  std::string line;
  while (std::getline(std::cin, line)) {
    auto received = std::chrono::time_point_cast<eg::WallTime::duration>(std::chrono::system_clock::now());
    std::cout << decoder.decode_line(line, received) << '\n';
  }
  std::cout.flush();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"eldercare-sim: simulated sensors and a view of the platform"};
  app.set_version_flag("--version", std::string("eldercare-sim ") + EG_VERSION);
  app.require_subcommand(1);

  std::string broker = "tcp://127.0.0.1:1883";
  auto* run = app.add_subcommand("run", "Publish a scenario file's messages");
  std::string scenario;
  double speed = 1.0;
  run->add_option("scenario", scenario, "Scenario file (JSON lines)")->required();
  run->add_option("-b,--broker", broker, "Broker URI")->capture_default_str();
  run->add_option("-s,--speed", speed, "Time factor: 10 plays ten times faster")->check(CLI::PositiveNumber);

  auto* watch_cmd = app.add_subcommand("watch", "Print upstream messages, protobuf decoded, one JSON line each");
  std::string filter = "eldercare/v1/#";
  int count = 0;
  double timeout_s = 1e9;
  watch_cmd->add_option("-b,--broker", broker, "Broker URI")->capture_default_str();
  watch_cmd->add_option("-t,--topic", filter, "Topic filter")->capture_default_str();
  watch_cmd->add_option("-n,--count", count, "Exit after this many messages (0: never)");
  watch_cmd->add_option("--timeout", timeout_s, "Exit after this many seconds");

  auto* ack_cmd = app.add_subcommand("ack", "Acknowledge an alert (protobuf Command), as a console would");
  std::string alert_id, actor = "nurse-demo", channel = "console", command_topic = "eldercare/local/command";
  Signer signer;
  ack_cmd->add_option("alert_id", alert_id, "Alert id")->required();
  ack_cmd->add_option("-b,--broker", broker, "Broker URI")->capture_default_str();
  ack_cmd->add_option("-t,--topic", command_topic, "Command topic")->capture_default_str();
  ack_cmd->add_option("--actor", actor, "Who acknowledges")->capture_default_str();
  ack_cmd->add_option("--channel", channel, "Channel name")->capture_default_str();
  ack_cmd->add_option("--key-file", signer.key_file, "Command keys file (\"<id> <staff|platform> <hex>\" lines)")
      ->required();
  ack_cmd->add_option("--key-id", signer.key_id, "Key to sign with (default: the actor's own)");

  auto* away_cmd = app.add_subcommand("away", "Mark a resident away until an expected return (protobuf Command)");
  std::string resident;
  double hours = 0;
  away_cmd->add_option("resident", resident, "Resident id")->required();
  away_cmd->add_option("--hours", hours, "Expected back in this many hours")->required()->check(CLI::PositiveNumber);
  auto* returned_cmd = app.add_subcommand("returned", "Say a resident marked away is back (protobuf Command)");
  returned_cmd->add_option("resident", resident, "Resident id")->required();
  for (auto* command : {away_cmd, returned_cmd}) {
    command->add_option("-b,--broker", broker, "Broker URI")->capture_default_str();
    command->add_option("-t,--topic", command_topic, "Command topic")->capture_default_str();
    command->add_option("--actor", actor, "Who says so")->capture_default_str();
    command->add_option("--channel", channel, "Channel name")->capture_default_str();
    command->add_option("--key-file", signer.key_file, "Command keys file")->required();
    command->add_option("--key-id", signer.key_id, "Key to sign with (default: the actor's own)");
  }

  for (auto* command : {run, watch_cmd, ack_cmd, away_cmd, returned_cmd}) {
    command->add_option("-u,--username", credentials.username, "Broker user name");
    command->add_option("--password-file", credentials.password_file, "File holding the broker password");
  }

  app.add_subcommand("decode",
                     "Decode JSON lines {\"publisher\"?, \"topic\", \"payload\"} from stdin: one "
                     "{\"events\":[...]} or {\"error\":...} line out per line in");

  CLI11_PARSE(app, argc, argv);
  try {
    if (run->parsed()) return run_scenario(scenario, broker, speed);
    if (watch_cmd->parsed()) return watch(broker, filter, count, timeout_s);
    if (app.got_subcommand("decode")) return decode_stream();
    eldercare::v1::Command command;
    if (ack_cmd->parsed()) {
      command.mutable_acknowledge()->set_alert_id(alert_id);
      return send_command(broker, command_topic, command, actor, channel, signer, "acknowledged " + alert_id);
    }
    if (away_cmd->parsed()) {
      auto back = std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                         std::chrono::duration<double>(hours * 3600));
      command.mutable_set_away()->set_resident_id(resident);
      *command.mutable_set_away()->mutable_expected_return() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          std::chrono::duration_cast<std::chrono::nanoseconds>(back.time_since_epoch()).count());
      return send_command(broker, command_topic, command, actor, channel, signer, "marked " + resident + " away");
    }
    if (returned_cmd->parsed()) {
      command.mutable_returned()->set_resident_id(resident);
      return send_command(broker, command_topic, command, actor, channel, signer, "said " + resident + " is back");
    }
  } catch (const eg::simulator::ScenarioError& error) {
    std::cerr << error.what() << "\n";
    return 2;
  } catch (const eg::proto::KeyFileError& error) {
    std::cerr << "eldercare-sim: " << error.what() << "\n";
    return 2;
  } catch (const mqtt::exception& error) {
    std::cerr << "eldercare-sim: MQTT error: " << error.what() << "\n";
    return 1;
  } catch (const std::runtime_error& error) {
    std::cerr << "eldercare-sim: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
