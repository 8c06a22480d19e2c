// Shared pieces of the MQTT benchmarks (outbox_drain_bench, ingest_bench): a
// plain Paho publisher with a fixed in-flight window, a plain Paho subscriber
// that counts arrivals, the gateway on its own loop thread, and memory
// figures. Brokers come from the test support library (eg::test::MosquittoBroker:
// 127.0.0.1, free port, temp dir, persistence off, max_queued_messages 1e6).
//
// Every Paho client here lives in the benchmark's process, like the gateway's
// own: Paho C runs one send and one receive thread for all clients of a
// process, so the baselines and the gateway share them alike.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio under C++20 needs it

#include <mqtt/async_client.h>

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/common/tcp_nodelay.hpp"
#include "eg/gateway/gateway.hpp"
#include "windowed_publisher.hpp"

namespace eg::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A field of /proc/self/status in KiB ("VmHWM:" peak RSS, "VmRSS:" current).
inline long proc_status_kib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == field) {
      status >> value;
      return value;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

// Bytes this process has caused to be written to storage so far
// (/proc/self/io write_bytes: page-cache pages dirtied, sockets excluded).
inline std::uint64_t disk_write_bytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value)
    if (key == "write_bytes:") return value;
  return 0;
}

// p50, p99 and max of some durations, in milliseconds.
struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};
inline Percentiles percentiles_ms(std::vector<double> seconds) {
  if (seconds.empty()) return {};
  std::sort(seconds.begin(), seconds.end());
  auto at = [&](double q) {
    return 1e3 * seconds[static_cast<std::size_t>(q * static_cast<double>(seconds.size() - 1))];
  };
  return {at(0.5), at(0.99), 1e3 * seconds.back()};
}

// CPU seconds used so far, by thread name in this process ("eg-loop" is the
// gateway's loop, MQTTAsync_send/_rcv are Paho's threads), "process" for the
// whole process (threads that have exited included) and "mosquitto" for the
// brokers this process started. Where the time goes, without a profiler.
inline std::map<std::string, double> cpu_seconds() {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::map<std::string, double> out;
  // /proc/<...>/stat: "pid (comm) state ppid ... utime stime" (fields 14 and 15).
  auto read_stat = [](const std::string& path, std::string& comm, long& ppid, double& cpu_ticks) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos) return false;
    comm = text.substr(open + 1, close - open - 1);
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    std::vector<std::string> fields;
    while (rest >> field && fields.size() < 13) fields.push_back(field);
    if (fields.size() < 13) return false;
    ppid = std::stol(fields[1]);
    cpu_ticks = std::stod(fields[11]) + std::stod(fields[12]);
    return true;
  };
  std::string comm;
  long ppid = 0;
  double t = 0;
  if (read_stat("/proc/self/stat", comm, ppid, t)) out["process"] = t / ticks;
  for (const char* dir_path : {"/proc/self/task", "/proc"}) {
    DIR* dir = ::opendir(dir_path);
    if (dir == nullptr) continue;
    bool tasks = std::string(dir_path) == "/proc/self/task";
    while (dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      if (!read_stat(std::string(dir_path) + "/" + entry->d_name + "/stat", comm, ppid, t)) continue;
      if (tasks)
        out["thread " + comm] += t / ticks;
      else if (ppid == ::getpid() && comm == "mosquitto")
        out["mosquitto"] += t / ticks;
    }
    ::closedir(dir);
  }
  return out;
}

// One line: CPU milliseconds per 1,000 messages between two cpu_seconds().
inline void print_cpu(const char* label, const std::map<std::string, double>& before,
                      const std::map<std::string, double>& after, std::uint64_t messages) {
  std::printf("      %-19s CPU ms per 1000 msgs:", label);
  for (const auto& [name, seconds] : after) {
    auto it = before.find(name);
    double used = seconds - (it == before.end() ? 0 : it->second);
    if (used < 0.005) continue;
    std::printf(" %s %.1f;", name.c_str(), used * 1e6 / static_cast<double>(messages));
  }
  std::printf("\n");
}

// Polls `done` every millisecond until it holds or `limit` passes.
template <typename Predicate>
bool wait_for(Predicate&& done, std::chrono::milliseconds limit) {
  auto until = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Subscribes at QoS 1 (clean session) and counts what arrives. With a `key`
// (payload -> index in [0, expected), or npos to ignore), counts each index
// once, so a duplicate delivery cannot finish a measurement early.
class CountingSubscriber {
 public:
  static constexpr std::uint64_t npos = std::numeric_limits<std::uint64_t>::max();
  using Key = std::function<std::uint64_t(const std::string& payload)>;

  CountingSubscriber(const std::string& uri, const std::string& client_id, const std::string& filter)
      : client_(uri, client_id, mqtt::create_options(MQTTVERSION_3_1_1)) {
    client_.set_message_callback([this](mqtt::const_message_ptr message) { arrived(message->get_payload_str()); });
    mqtt::connect_options options;
    options.set_clean_session(true);
    options.set_connect_timeout(5);
    client_.connect(options)->wait();
    eg::set_nodelay_on_tcp_sockets();
    client_.subscribe(filter, 1)->wait();
  }
  ~CountingSubscriber() {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
      // The broker may already be gone.
    }
  }
  CountingSubscriber(const CountingSubscriber&) = delete;
  CountingSubscriber& operator=(const CountingSubscriber&) = delete;

  // Starts a new count of `expected` distinct keys (all arrivals without a key).
  void reset(std::uint64_t expected, Key key = {}) {
    std::lock_guard lock(mu_);
    expected_ = expected;
    key_ = std::move(key);
    seen_.assign(key_ ? expected : 0, false);
    arrivals_ = 0;
    counted_ = 0;
    bytes_ = 0;
    first_ = {};
  }
  std::uint64_t counted() const { return counted_.load(std::memory_order_relaxed); }
  std::uint64_t arrivals() const { return arrivals_.load(std::memory_order_relaxed); }
  std::uint64_t bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  Clock::time_point first_arrival() const {
    std::lock_guard lock(mu_);
    return first_;
  }

 private:
  void arrived(const std::string& payload) {
    std::lock_guard lock(mu_);
    if (arrivals_.fetch_add(1, std::memory_order_relaxed) == 0) first_ = Clock::now();
    bytes_ += payload.size();
    if (!key_) {
      counted_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::uint64_t index = key_(payload);
    if (index >= expected_ || seen_[index]) return;
    seen_[index] = true;
    counted_.fetch_add(1, std::memory_order_relaxed);
  }

  mqtt::async_client client_;
  mutable std::mutex mu_;
  std::uint64_t expected_ = 0;
  Key key_;
  std::vector<bool> seen_;
  std::uint64_t bytes_ = 0;
  std::atomic<std::uint64_t> arrivals_{0};
  std::atomic<std::uint64_t> counted_{0};
  Clock::time_point first_{};
};

// The gateway on its own loop thread, as eldercare-gatewayd runs it; stopped
// gracefully when the object dies.
class RunningGateway {
 public:
  RunningGateway(eg::gateway::GatewayConfig config, const eg::Clock& clock)
      : work_(io_.get_executor()), gateway_(io_, std::move(config), clock) {
    boost::asio::post(io_, [this] { gateway_.start([this] { ready_ = true; }); });
    thread_ = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "eg-loop");
      io_.run();
    });
  }
  ~RunningGateway() {
    std::promise<void> stopped;
    boost::asio::post(io_, [&] { gateway_.stop([&] { stopped.set_value(); }); });
    stopped.get_future().wait_for(std::chrono::seconds(5));
    // Gateway::stop() reports done once its links' stop timers fire (300 ms),
    // not when Paho has finished disconnecting. With publishes in flight Paho C
    // stays in "disconnecting" until its timeout check, which runs at most
    // every 3 s, and destroying the Gateway meanwhile throws from ~MqttLink
    // (disable_callbacks fails) and terminates the process: eldercare-gatewayd
    // aborts the same way on SIGTERM during a drain. Give Paho time to finish.
    std::this_thread::sleep_for(std::chrono::seconds(5));
    work_.reset();
    io_.stop();
    thread_.join();
  }
  RunningGateway(const RunningGateway&) = delete;
  RunningGateway& operator=(const RunningGateway&) = delete;

  bool ready() const { return ready_.load(); }
  const eg::gateway::Metrics& metrics() const { return gateway_.metrics(); }
  std::string topic(const char* leaf) const { return gateway_.upstream_topic(leaf); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  eg::gateway::Gateway gateway_;
  std::atomic<bool> ready_{false};
  std::thread thread_;
};

}  // namespace eg::bench
