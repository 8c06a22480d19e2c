// The soak run's own clients (scripts/soak drives them): a numbered sensor
// publisher on the local broker, recorders of what the platform (upstream
// broker) and the room sounder (local alarm topic) receive, and the report that
// compares what was sent with what arrived. It knows nothing of the gateway's
// code, only the wire schema.
//
//   eg_soak_client publish --uri U --out FILE --seed S [--rate-min 100] [--rate-max 300]
//                          [--sos-min-s 2] [--sos-max-s 6]
//   eg_soak_client record  --uri U --client-id ID --topic T [--topic T...] --out FILE --ready FILE
//   eg_soak_client report  --sent FILE --received FILE [--alarms FILE] [--faults FILE]
//                          [--size-cap-dropped N] [--check]
//
// publish: message i is device radar-<i / 150> with heart rate 40 + i % 150, so
// every message is a new value for its device and is recognisable upstream;
// every few seconds an SOS press {"action":"emergency"} from a new device
// sos-<n>. A message is "sent" when the broker's PUBACK arrived; one handed to
// the client library whose PUBACK never came (the broker went away) is
// "uncertain" and neither sent nor lost. Lines:
//   R <i> <device> <heart rate> <t_ms>      S <n> <device> <t_ms>      (sent)
//   r ...                                   s ...                      (uncertain)
// record: a persistent session (clean session off, fixed client id, QoS 1) that
// resubscribes on every reconnect. Lines:
//   E <sequence> <event id> <device> <kind> <value> <t_ms>   SensorEvent (value: heart rate,
//                                                            SOS active, health condition or -)
//   A <sequence> <alert id> <device> <rule> <from> <to> <t_ms>   AlertTransition
//   L <device> <rule> <alert id> <t_ms>                      local alarm notice (JSON)
//   X <topic> <t_ms>                                         unreadable payload
// report: figures and checks; exit 1 on any loss (or a gateway crash, from the
// faults file). With --check: one line, exit 0 once nothing sent is missing
// upstream, 3 while something still is.
#include <mqtt/async_client.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eg/common/tcp_nodelay.hpp"
#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/sensor_event.pb.h"

namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) {
  g_stop = true;
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --name value pairs; a name may repeat (--topic).
struct Args {
  std::multimap<std::string, std::string> values;
  std::set<std::string> flags;

  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
  std::string need(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) throw std::runtime_error("missing --" + name);
    return it->second;
  }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (auto [it, end] = values.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
  }
};

Args parse_args(int argc, char** argv, const std::set<std::string>& flag_names) {
  Args args;
  for (int i = 2; i < argc; ++i) {
    std::string word = argv[i];
    if (!word.starts_with("--")) throw std::runtime_error("unexpected argument " + word);
    word = word.substr(2);
    if (flag_names.contains(word)) {
      args.flags.insert(word);
    } else {
      if (i + 1 >= argc) throw std::runtime_error("--" + word + " needs a value");
      args.values.emplace(word, argv[++i]);
    }
  }
  return args;
}

std::string one_word(std::string text) {
  if (text.empty()) return "-";
  for (char& c : text)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') c = '_';
  return text;
}

// ---------------------------------------------------------------- publish

int publish_main(const Args& args) {
  const std::string uri = args.need("uri");
  const double rate_min = std::stod(args.get("rate-min", "100"));
  const double rate_max = std::stod(args.get("rate-max", "300"));
  const double sos_min = std::stod(args.get("sos-min-s", "2"));
  const double sos_max = std::stod(args.get("sos-max-s", "6"));
  std::mt19937_64 random(std::stoull(args.need("seed")));
  FILE* out = std::fopen(args.need("out").c_str(), "a");
  if (out == nullptr) throw std::runtime_error("cannot write " + args.need("out"));

  mqtt::async_client client(uri, "soak-sensors", mqtt::create_options(MQTTVERSION_3_1_1));
  auto connect = [&] {
    while (!g_stop) {
      try {
        mqtt::connect_options options;
        options.set_clean_session(true);
        options.set_connect_timeout(2);
        options.set_keep_alive_interval(10);
        client.connect(options)->wait();
        eg::set_nodelay_on_tcp_sockets();
        return true;
      } catch (const mqtt::exception&) {
        std::this_thread::sleep_for(200ms);
      }
    }
    return false;
  };

  auto uniform = [&](double low, double high) { return std::uniform_real_distribution<double>(low, high)(random); };
  using Clock = std::chrono::steady_clock;
  auto seconds = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  long long reading = 0, sos = 0, sent_readings = 0, sent_sos = 0, uncertain = 0;
  double rate = uniform(rate_min, rate_max);
  Clock::time_point next_rate_change = Clock::now() + 5s;
  Clock::time_point next_sos = Clock::now() + seconds(uniform(sos_min, sos_max));
  Clock::time_point next_send = Clock::now();

  while (!g_stop) {
    if (!client.is_connected() && !connect()) break;
    Clock::time_point now = Clock::now();
    if (now < next_send) {
      std::this_thread::sleep_for(std::min<Clock::duration>(next_send - now, 50ms));
      continue;
    }
    if (now >= next_rate_change) {
      rate = uniform(rate_min, rate_max);  // the load varies within the range
      next_rate_change = now + 5s;
    }
    next_send += seconds(1.0 / rate);
    if (next_send < now - 1s) next_send = now;  // after a stall: no burst to catch up

    const bool is_sos = now >= next_sos;
    std::string topic, payload, line;
    const long long t = now_ms();
    if (is_sos) {
      std::string device = "sos-" + std::to_string(sos);
      topic = "zigbee2mqtt/" + device;
      payload = R"({"action":"emergency"})";
      line = std::to_string(sos) + " " + device + " " + std::to_string(t);
    } else {
      std::string device = "radar-" + std::to_string(reading / 150);
      int heart_rate = 40 + static_cast<int>(reading % 150);
      topic = "zigbee2mqtt/" + device;
      payload = "{\"heart_rate\":" + std::to_string(heart_rate) + "}";
      line = std::to_string(reading) + " " + device + " " + std::to_string(heart_rate) + " " + std::to_string(t);
    }

    mqtt::delivery_token_ptr token;
    try {
      token = client.publish(mqtt::make_message(topic, payload, 1, false));
    } catch (const mqtt::exception&) {
      // Not handed over (not connected): the same message goes again after
      // reconnecting, nothing of it can have reached the broker.
      std::this_thread::sleep_for(100ms);
      continue;
    }
    bool acknowledged = false;
    try {
      acknowledged = token->wait_for(5s);
    } catch (const mqtt::exception&) {
      acknowledged = false;
    }
    std::fprintf(out, "%c %s\n", is_sos ? (acknowledged ? 'S' : 's') : (acknowledged ? 'R' : 'r'), line.c_str());
    std::fflush(out);
    if (!acknowledged) ++uncertain;
    if (is_sos) {
      ++sos;
      if (acknowledged) ++sent_sos;
      next_sos = Clock::now() + seconds(uniform(sos_min, sos_max));
    } else {
      ++reading;
      if (acknowledged) ++sent_readings;
    }
  }
  try {
    if (client.is_connected()) client.disconnect()->wait_for(2s);
  } catch (const mqtt::exception&) {
  }
  std::fclose(out);
  std::cerr << "publisher: " << sent_readings << " readings and " << sent_sos << " SOS presses acknowledged, "
            << uncertain << " uncertain\n";
  return 0;
}

// ---------------------------------------------------------------- record

class Recorder : public virtual mqtt::callback {
 public:
  Recorder(mqtt::async_client& client, std::vector<std::string> topics, FILE* out)
      : client_(client), topics_(std::move(topics)), out_(out) {}

  void subscribe() {
    for (const auto& topic : topics_) client_.subscribe(topic, 1);
  }

  void connected(const std::string&) override {
    eg::set_nodelay_on_tcp_sockets();
    // The broker keeps the session when it is persistent; subscribing again
    // costs nothing and covers a broker that lost it.
    try {
      subscribe();
    } catch (const mqtt::exception& error) {
      std::cerr << "recorder: subscribe after reconnect failed: " << error.what() << "\n";
    }
  }
  void connection_lost(const std::string&) override {}

  void message_arrived(mqtt::const_message_ptr message) override {
    const std::string& topic = message->get_topic();
    const std::string& payload = message->get_payload_str();
    const long long t = now_ms();
    std::lock_guard lock(mutex_);
    if (topic.ends_with("/event")) {
      v1::SensorEvent event;
      if (event.ParseFromString(payload)) {
        std::string value = "-";
        if (event.has_vitals()) value = std::to_string(static_cast<int>(event.vitals().heart_rate_bpm()));
        if (event.has_sos()) value = event.sos().active() ? "1" : "0";
        if (event.has_device_health()) value = std::to_string(event.device_health().condition());
        std::fprintf(out_, "E %llu %s %s %d %s %lld\n", static_cast<unsigned long long>(event.sequence()),
                     one_word(event.id()).c_str(), one_word(event.device_id()).c_str(), static_cast<int>(event.kind()),
                     value.c_str(), t);
        std::fflush(out_);
        return;
      }
    } else if (topic.ends_with("/alert")) {
      v1::AlertTransition transition;
      if (transition.ParseFromString(payload)) {
        std::fprintf(out_, "A %llu %s %s %s %d %d %lld\n", static_cast<unsigned long long>(transition.sequence()),
                     one_word(transition.alert_id()).c_str(), one_word(transition.alert().device_id()).c_str(),
                     one_word(transition.alert().rule_id()).c_str(), static_cast<int>(transition.from_state()),
                     static_cast<int>(transition.to_state()), t);
        std::fflush(out_);
        return;
      }
    } else {
      auto notice = nlohmann::json::parse(payload, nullptr, false);
      if (notice.is_object()) {
        auto text = [&](const char* key) {
          auto it = notice.find(key);
          return it != notice.end() && it->is_string() ? one_word(it->get<std::string>()) : std::string("-");
        };
        std::fprintf(out_, "L %s %s %s %lld\n", text("device").c_str(), text("rule").c_str(), text("alert_id").c_str(),
                     t);
        std::fflush(out_);
        return;
      }
    }
    std::fprintf(out_, "X %s %lld\n", one_word(topic).c_str(), t);
    std::fflush(out_);
  }

 private:
  mqtt::async_client& client_;
  std::vector<std::string> topics_;
  FILE* out_;
  std::mutex mutex_;
};

int record_main(const Args& args) {
  FILE* out = std::fopen(args.need("out").c_str(), "a");
  if (out == nullptr) throw std::runtime_error("cannot write " + args.need("out"));
  mqtt::async_client client(args.need("uri"), args.need("client-id"), mqtt::create_options(MQTTVERSION_3_1_1));
  Recorder recorder(client, args.all("topic"), out);
  client.set_callback(recorder);
  mqtt::connect_options options;
  options.set_clean_session(false);
  options.set_keep_alive_interval(10);
  options.set_connect_timeout(2);
  options.set_automatic_reconnect(100ms, 1s);
  bool connected = false;
  while (!connected && !g_stop) {
    try {
      client.connect(options)->wait();
      connected = true;
    } catch (const mqtt::exception&) {
      std::this_thread::sleep_for(200ms);
    }
  }
  if (connected) {
    for (const auto& topic : args.all("topic")) client.subscribe(topic, 1)->wait();
    std::ofstream(args.need("ready")) << "ready\n";
  }
  while (!g_stop) std::this_thread::sleep_for(50ms);
  try {
    if (client.is_connected()) client.disconnect()->wait_for(2s);
  } catch (const mqtt::exception&) {
  }
  std::fclose(out);
  return 0;
}

// ---------------------------------------------------------------- report

struct Sent {
  long long number;
  std::string device;
  int heart_rate;
  long long t;
};

struct Fault {
  long long t;
  std::string name;
  std::string detail;
};

struct Outcome {
  bool complete = false;  // nothing sent is missing, no hole
  bool failed = false;
};

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

Outcome report(const Args& args, bool check_only) {
  using Key = std::pair<std::string, int>;  // device, heart rate
  std::map<Key, Sent> sent_readings;
  std::set<Key> uncertain_readings;
  std::map<std::string, Sent> sent_sos;  // device -> press
  std::set<std::string> uncertain_sos;
  {
    std::ifstream in(args.need("sent"));
    for (std::string line; std::getline(in, line);) {
      auto w = split(line);
      if (w.empty()) continue;
      if ((w[0] == "R" || w[0] == "r") && w.size() >= 5) {
        Key key{w[2], std::stoi(w[3])};
        if (w[0] == "R")
          sent_readings[key] = Sent{std::stoll(w[1]), w[2], std::stoi(w[3]), std::stoll(w[4])};
        else
          uncertain_readings.insert(key);
      } else if ((w[0] == "S" || w[0] == "s") && w.size() >= 4) {
        if (w[0] == "S")
          sent_sos[w[2]] = Sent{std::stoll(w[1]), w[2], 0, std::stoll(w[3])};
        else
          uncertain_sos.insert(w[2]);
      }
    }
  }

  std::size_t messages = 0, unreadable = 0;
  std::map<std::string, int> event_copies;                     // event id -> copies
  std::map<std::string, int> transition_copies;                // alert id + sequence -> copies
  std::map<Key, std::set<std::string>> reading_ids;            // content -> event ids
  std::map<std::string, std::set<std::string>> sos_event_ids;  // SOS device -> event ids
  std::set<std::string> raised;                                // devices with a RAISED transition
  std::map<std::uint64_t, std::set<std::string>> by_sequence;  // sequence -> identities
  std::map<int, std::set<std::string>> store_conditions;       // gateway store health events
  {
    std::ifstream in(args.need("received"));
    for (std::string line; std::getline(in, line);) {
      auto w = split(line);
      if (w.empty()) continue;
      ++messages;
      if (w[0] == "E" && w.size() >= 7) {
        std::uint64_t sequence = std::stoull(w[1]);
        const std::string& id = w[2];
        const std::string& device = w[3];
        int kind = std::stoi(w[4]);
        ++event_copies[id];
        by_sequence[sequence].insert("event " + id);
        if (kind == v1::EVENT_KIND_VITALS && w[5] != "-") reading_ids[{device, std::stoi(w[5])}].insert(id);
        if (kind == v1::EVENT_KIND_SOS_CALL && w[5] == "1") sos_event_ids[device].insert(id);
        if (kind == v1::EVENT_KIND_DEVICE_HEALTH && device.ends_with("/store"))
          store_conditions[std::stoi(w[5])].insert(id);
      } else if (w[0] == "A" && w.size() >= 8) {
        std::uint64_t sequence = std::stoull(w[1]);
        ++transition_copies[w[2] + "#" + w[1]];
        by_sequence[sequence].insert("transition " + w[2] + " " + w[5] + "->" + w[6]);
        if (std::stoi(w[6]) == v1::ALERT_STATE_RAISED) raised.insert(w[3]);
      } else {
        ++unreadable;
      }
    }
  }
  std::map<std::string, int> local_alarms;  // device -> notices
  const bool room_checked = !args.get("alarms").empty();
  if (room_checked) {
    std::ifstream in(args.get("alarms"));
    for (std::string line; std::getline(in, line);) {
      auto w = split(line);
      if (w.size() >= 2 && w[0] == "L") ++local_alarms[w[1]];
    }
  }
  std::vector<Fault> faults;
  long long start = 0;
  if (!args.get("faults").empty()) {
    std::ifstream in(args.get("faults"));
    for (std::string line; std::getline(in, line);) {
      auto w = split(line);
      if (w.size() < 2) continue;
      std::string detail;
      for (std::size_t i = 2; i < w.size(); ++i) detail += (i > 2 ? " " : "") + w[i];
      faults.push_back(Fault{std::stoll(w[0]), w[1], detail});
      if (w[1] == "start" && start == 0) start = faults.back().t;
    }
  }

  // Loss.
  std::vector<const Sent*> lost_readings;
  for (const auto& [key, sent] : sent_readings)
    if (!reading_ids.contains(key)) lost_readings.push_back(&sent);
  std::vector<std::pair<const Sent*, std::string>> lost_alarms;
  std::size_t sos_events = 0, sos_raised = 0, sos_heard = 0;
  for (const auto& [device, sent] : sent_sos) {
    bool event = sos_event_ids.contains(device), alert = raised.contains(device);
    sos_events += event;
    sos_raised += alert;
    sos_heard += local_alarms.contains(device);
    if (!event || !alert)
      lost_alarms.emplace_back(&sent, !event && !alert ? "no SOS event, no RAISED transition"
                                      : !event         ? "no SOS event (RAISED transition arrived)"
                                                       : "no RAISED transition (SOS event arrived)");
  }
  // Sequences.
  std::uint64_t highest = by_sequence.empty() ? 0 : by_sequence.rbegin()->first;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> holes;  // [first, last]
  std::uint64_t missing_numbers = 0;
  {
    std::uint64_t expect = 1;
    for (const auto& [sequence, ids] : by_sequence) {
      if (sequence > expect) {
        holes.emplace_back(expect, sequence - 1);
        missing_numbers += sequence - expect;
      }
      expect = sequence + 1;
    }
  }
  std::size_t reused = 0;
  for (const auto& [sequence, ids] : by_sequence) reused += ids.size() > 1;

  // The ladder's first step is the room's alarm: every press must sound there.
  std::vector<const Sent*> unsounded;
  if (room_checked)
    for (const auto& [device, sent] : sent_sos)
      if (!local_alarms.contains(device)) unsounded.push_back(&sent);

  Outcome outcome;
  outcome.complete = lost_readings.empty() && lost_alarms.empty() && holes.empty() && unsounded.empty();
  if (check_only) {
    std::cout << "  drain: " << lost_readings.size() << " readings and " << lost_alarms.size()
              << " alarms not yet upstream, " << unsounded.size() << " SOS not yet sounded in the room, "
              << missing_numbers << " sequence numbers missing below " << highest << std::endl;
    return outcome;
  }

  // Duplicates.
  std::size_t duplicate_events = 0, duplicate_transitions = 0, distinct_ids = event_copies.size();
  for (const auto& [id, copies] : event_copies) duplicate_events += copies - 1;
  for (const auto& [id, copies] : transition_copies) duplicate_transitions += copies - 1;
  std::size_t same_content_other_id = 0, readings_received = 0, unexpected = 0, after_uncertain = 0;
  std::vector<std::string> same_content_examples;
  for (const auto& [key, ids] : reading_ids) {
    if (ids.size() > 1) {
      same_content_other_id += ids.size() - 1;
      if (same_content_examples.size() < 5)
        same_content_examples.push_back(key.first + " heart_rate=" + std::to_string(key.second) + " (" +
                                        std::to_string(ids.size()) + " ids)");
    }
    if (sent_readings.contains(key))
      ++readings_received;
    else if (uncertain_readings.contains(key))
      ++after_uncertain;
    else if (key.first.starts_with("radar-"))
      ++unexpected;
  }
  for (const auto& [device, ids] : sos_event_ids)
    if (ids.size() > 1) {
      same_content_other_id += ids.size() - 1;
      if (same_content_examples.size() < 5)
        same_content_examples.push_back(device + " SOS (" + std::to_string(ids.size()) + " ids)");
    }

  auto rel = [&](long long t) {
    char text[32];
    std::snprintf(text, sizeof text, "t=%.1fs", static_cast<double>(t - start) / 1000.0);
    return std::string(text);
  };
  // What happened before a message was sent: the last fault, and those still on.
  static const std::set<std::string> kFaultNames{"kill9",       "local-restart", "upstream-down",
                                                 "upstream-up", "disk-full",     "disk-freed",
                                                 "sigstop",     "sigcont",       "gateway-exited"};
  auto last_fault_before = [&](long long t) -> const Fault* {
    const Fault* last = nullptr;
    for (const auto& fault : faults) {
      if (fault.t > t) break;
      if (kFaultNames.contains(fault.name)) last = &fault;
    }
    return last;
  };
  auto context = [&](long long t) {
    std::map<std::string, const Fault*> on;  // durational faults in progress
    for (const auto& fault : faults) {
      if (fault.t > t) break;
      if (fault.name == "upstream-down" || fault.name == "disk-full" || fault.name == "sigstop")
        on[fault.name] = &fault;
      if (fault.name == "upstream-up") on.erase("upstream-down");
      if (fault.name == "disk-freed") on.erase("disk-full");
      if (fault.name == "sigcont" || fault.name == "kill9" || fault.name == "gateway-exited") on.erase("sigstop");
    }
    const Fault* last = last_fault_before(t);
    std::string text;
    if (last) {
      text = "after " + last->name + (last->detail.empty() ? "" : " " + last->detail) + " at " + rel(last->t) + " (" +
             std::to_string(t - last->t) + " ms before)";
      if (const Fault* previous = last_fault_before(last->t - 1))
        text += ", and before it " + previous->name + " at " + rel(previous->t);
    } else {
      text = "before any fault";
    }
    for (const auto& [name, fault] : on)
      if (fault != last) text += "; during " + name + " since " + rel(fault->t);
    for (const auto& fault : faults)
      if (fault.t > t && kFaultNames.contains(fault.name)) {
        text += "; next: " + fault.name + " at " + rel(fault.t);
        break;
      }
    return text;
  };

  std::map<std::string, int> fault_counts;
  for (const auto& fault : faults) ++fault_counts[fault.name];
  std::cout << "\n== soak report ==\n";
  std::cout << "faults:";
  for (const char* name : {"kill9", "local-restart", "upstream-down", "disk-full", "sigstop", "gateway-exited"})
    std::cout << " " << name << "=" << fault_counts[name];
  std::cout << "\n";
  std::cout << "sent (acknowledged by the local broker): " << sent_readings.size() << " readings, " << sent_sos.size()
            << " SOS presses; uncertain (no PUBACK, not counted): " << uncertain_readings.size() + uncertain_sos.size()
            << "\n";
  std::cout << "received upstream: " << messages << " messages, " << distinct_ids << " distinct events, "
            << transition_copies.size() << " distinct alert transitions; " << readings_received << " of "
            << sent_readings.size() << " sent readings\n";
  std::cout << "lost readings: " << lost_readings.size() << "\n";
  std::cout << "alarms: " << sent_sos.size() << " SOS sent, " << sos_events << " SOS events and " << sos_raised
            << " RAISED transitions upstream (lost upstream: " << lost_alarms.size() << "), ";
  if (room_checked)
    std::cout << sos_heard << " sounded on the room alarm topic (never sounded: " << unsounded.size() << ")\n";
  else
    std::cout << "room alarm topic not recorded\n";
  std::cout << "duplicates (same event id again): " << duplicate_events << " events, " << duplicate_transitions
            << " transitions\n";
  std::cout << "duplicate content under a different event id: " << same_content_other_id;
  for (std::size_t i = 0; i < same_content_examples.size(); ++i)
    std::cout << (i == 0 ? " (e.g. " : ", ") << same_content_examples[i];
  std::cout << (same_content_examples.empty() ? "" : ")") << "\n";
  std::cout << "sequence: highest " << highest << ", holes " << holes.size() << " (" << missing_numbers << " numbers)";
  for (std::size_t i = 0; i < holes.size() && i < 10; ++i)
    std::cout << (i == 0 ? ": " : ", ") << holes[i].first
              << (holes[i].second != holes[i].first ? "-" + std::to_string(holes[i].second) : "");
  std::cout << "; numbers carried by two different events or transitions: " << reused << "\n";
  std::cout << "arrived though the publisher had no PUBACK: " << after_uncertain
            << "; readings upstream the publisher never sent: " << unexpected << "; unreadable lines: " << unreadable
            << "\n";
  std::cout << "store health events upstream: failed "
            << store_conditions[v1::DeviceHealthPayload::CONDITION_STORE_FAILED].size() << ", ok "
            << store_conditions[v1::DeviceHealthPayload::CONDITION_STORE_OK].size() << "\n";

  if (!lost_readings.empty()) {
    std::sort(lost_readings.begin(), lost_readings.end(),
              [](const Sent* a, const Sent* b) { return a->number < b->number; });
    // Runs of consecutive message numbers, each with what preceded its first message.
    std::vector<std::pair<const Sent*, const Sent*>> runs;
    for (const Sent* s : lost_readings)
      if (!runs.empty() && runs.back().second->number + 1 == s->number)
        runs.back().second = s;
      else
        runs.emplace_back(s, s);
    std::cout << "LOST readings: " << lost_readings.size() << " in " << runs.size() << " runs of consecutive messages"
              << (runs.size() > 20 ? " (first 20)" : "") << ":\n";
    for (std::size_t i = 0; i < runs.size() && i < 20; ++i) {
      const Sent& a = *runs[i].first;
      const Sent& b = *runs[i].second;
      std::cout << "  #" << a.number;
      if (b.number != a.number) std::cout << "-#" << b.number << " (" << b.number - a.number + 1 << ")";
      std::cout << " " << a.device << " heart_rate=" << a.heart_rate << " sent " << rel(a.t);
      if (b.number != a.number) std::cout << " to " << rel(b.t);
      std::cout << ", " << context(a.t) << "\n";
    }
    std::map<std::string, int> by_fault;
    for (const Sent* s : lost_readings) {
      const Fault* last = last_fault_before(s->t);
      by_fault[last ? last->name : "none"]++;
    }
    std::cout << "  lost readings by the last fault before them:";
    for (const auto& [fault, count] : by_fault) std::cout << " " << fault << "=" << count;
    std::cout << "\n";
    if (!args.get("size-cap-dropped").empty() && args.get("size-cap-dropped") != "0")
      std::cout << "  the gateway logged EVENTS_DROPPED reason=size_cap for " << args.get("size-cap-dropped")
                << " undelivered rows (gateway.max_database_mb; docs/durability.md, Bounded disk)\n";
  }
  for (const Sent* sent : unsounded)
    std::cout << "NEVER SOUNDED in the room: " << sent->device << " sent " << rel(sent->t)
              << (raised.contains(sent->device) ? " (RAISED upstream)" : "") << ", " << context(sent->t) << "\n";
  for (const auto& [sent, why] : lost_alarms)
    std::cout << "LOST alarm " << sent->device << " sent " << rel(sent->t) << ": " << why << "; " << context(sent->t)
              << "\n";
  for (std::size_t i = 0; i < holes.size() && i < 10; ++i) {
    // The neighbours of a hole say what was around it.
    auto before = by_sequence.find(holes[i].first - 1);
    auto after = by_sequence.find(holes[i].second + 1);
    std::cout << "HOLE " << holes[i].first << "-" << holes[i].second << " between "
              << (before != by_sequence.end() ? *before->second.begin() : "-") << " and "
              << (after != by_sequence.end() ? *after->second.begin() : "-") << "\n";
  }

  int passed = 0, failed = 0;
  auto verdict = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "PASS " : "FAIL ") << what << "\n";
    (ok ? passed : failed)++;
  };
  verdict(lost_readings.empty(), "no acknowledged reading lost (" + std::to_string(lost_readings.size()) + " lost)");
  verdict(lost_alarms.empty(), "no SOS alarm lost upstream: each has its SOS event and RAISED transition (" +
                                   std::to_string(lost_alarms.size()) + " lost)");
  if (room_checked)
    verdict(unsounded.empty(), "every SOS sounded on the room alarm topic, the ladder's local_alarm step (" +
                                   std::to_string(unsounded.size()) + " never did)");
  verdict(holes.empty(), "no sequence hole (" + std::to_string(missing_numbers) + " numbers missing)");
  verdict(reused == 0, "no sequence number carried by two different events (" + std::to_string(reused) + ")");
  // Died by a signal nobody sent it (SIGSEGV, SIGABRT...): not a loss, but a
  // defect the restart only hides.
  std::size_t crashes = 0;
  for (const auto& fault : faults)
    if (fault.name == "gateway-exited" && fault.detail.starts_with("code=") &&
        std::atoi(fault.detail.c_str() + 5) > 128) {
      ++crashes;
      std::cout << "CRASH gateway " << fault.detail << " at " << rel(fault.t) << "; " << context(fault.t - 1) << "\n";
    }
  verdict(crashes == 0, "the gateway never died by itself (" + std::to_string(crashes) + " crashes)");
  std::cout << passed << " passed, " << failed << " failed\n";
  outcome.failed = failed > 0;
  return outcome;
}

}  // namespace

int main(int argc, char** argv) {
  GOOGLE_PROTOBUF_VERIFY_VERSION;
  if (argc < 2) {
    std::cerr << "usage: eg_soak_client publish|record|report --option value ...\n";
    return 2;
  }
  std::string command = argv[1];
  try {
    if (command == "publish") {
      install_stop_handlers();
      return publish_main(parse_args(argc, argv, {}));
    }
    if (command == "record") {
      install_stop_handlers();
      return record_main(parse_args(argc, argv, {}));
    }
    if (command == "report") {
      Args args = parse_args(argc, argv, {"check"});
      bool check = args.flags.contains("check");
      Outcome outcome = report(args, check);
      if (check) return outcome.complete ? 0 : 3;
      return outcome.failed ? 1 : 0;
    }
  } catch (const std::exception& error) {
    std::cerr << "eg_soak_client " << command << ": " << error.what() << "\n";
    return 2;
  }
  std::cerr << "eg_soak_client: unknown command " << command << "\n";
  return 2;
}
