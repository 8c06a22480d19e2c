// relay: the baseline of the scale benchmark (scripts/bench). The least a
// gateway must do: take each sensor message from the local broker (QoS 1) and
// publish it upstream (QoS 1) with a bounded in-flight window, like
// upstream.max_inflight. No decoding, no store, no rules: what the daemon
// costs beyond this is the price of what it does.
//
//   relay --local URI --upstream URI [--filter F]... [--prefix relay/] [--window 64] [--report FILE]
//
// Paho runs one receive thread for all clients of a process, and it also
// delivers the PUBACKs: a message callback that waited for the upstream window
// would wait forever. So the callback only queues the message, and one relay
// thread takes it from there, waiting for the window before each publish.
// (Paho acknowledges a message to the local broker once the callback returns,
// before it is relayed: the daemon acknowledges only after its commit.)
// Runs until SIGINT/SIGTERM, then writes key=value lines: relayed, failed,
// max_queue (deepest queue seen between the two), cpu_s.
#include <mqtt/async_client.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) {
  stop_requested = true;  // only a flag: the relay thread looks at it between messages
}

// Counts publishes awaiting PUBACK; the relay thread waits while it is full.
class Window final : public mqtt::iaction_listener {
 public:
  explicit Window(int size) : size_(size) {}
  void acquire() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return inflight_ < size_; });
    ++inflight_;
  }
  void drain(std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, limit, [&] { return inflight_ == 0; });
  }
  std::uint64_t failed() const { return failed_; }

 private:
  void on_success(const mqtt::token&) override { release(false); }
  void on_failure(const mqtt::token&) override { release(true); }
  void release(bool failed) {
    {
      std::lock_guard lock(mu_);
      --inflight_;
      if (failed) ++failed_;
    }
    changed_.notify_one();
  }

  int size_;
  std::mutex mu_;
  std::condition_variable changed_;
  int inflight_ = 0;
  std::atomic<std::uint64_t> failed_{0};
};

// Messages from Paho's thread to the relay thread; unbounded, its depth is reported.
class Inbox {
 public:
  void push(mqtt::const_message_ptr message) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(message));
      max_depth_ = std::max(max_depth_, queue_.size());
    }
    arrived_.notify_one();
  }
  mqtt::const_message_ptr pop_for(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    if (!arrived_.wait_for(lock, limit, [&] { return !queue_.empty(); })) return nullptr;
    auto message = std::move(queue_.front());
    queue_.pop_front();
    return message;
  }
  std::size_t max_depth() {
    std::lock_guard lock(mu_);
    return max_depth_;
  }

 private:
  std::mutex mu_;
  std::condition_variable arrived_;
  std::deque<mqtt::const_message_ptr> queue_;
  std::size_t max_depth_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string local_uri, upstream_uri, prefix = "relay/", report_path = "/dev/stdout";
  std::vector<std::string> filters;
  int window_size = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--local")
      local_uri = value;
    else if (arg == "--upstream")
      upstream_uri = value;
    else if (arg == "--filter")
      filters.push_back(value);
    else if (arg == "--prefix")
      prefix = value;
    else if (arg == "--window")
      window_size = std::stoi(value);
    else if (arg == "--report")
      report_path = value;
    else {
      std::fprintf(stderr, "relay: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (local_uri.empty() || upstream_uri.empty()) {
    std::fprintf(stderr, "usage: relay --local URI --upstream URI [--filter F]... [--prefix P] [--window W]\n");
    return 2;
  }
  if (filters.empty()) filters = {"zigbee2mqtt/#", "wmbusmeters/#"};
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  const std::string id = std::to_string(::getpid());
  mqtt::async_client local(local_uri, "bench-relay-in-" + id, mqtt::create_options(MQTTVERSION_3_1_1));
  mqtt::async_client upstream(upstream_uri, "bench-relay-out-" + id, mqtt::create_options(MQTTVERSION_3_1_1));
  Window window(window_size);
  Inbox inbox;
  std::uint64_t relayed = 0;
  try {
    mqtt::connect_options up_options;
    up_options.set_clean_session(true);
    up_options.set_max_inflight(window_size);
    upstream.connect(up_options)->wait();
    local.set_message_callback([&inbox](mqtt::const_message_ptr message) { inbox.push(std::move(message)); });
    mqtt::connect_options in_options;
    in_options.set_clean_session(true);
    local.connect(in_options)->wait();
    for (const auto& filter : filters) local.subscribe(filter, 1)->wait();
    std::fprintf(stderr, "relay: ready\n");

    while (!stop_requested) {
      auto message = inbox.pop_for(std::chrono::milliseconds(100));
      if (!message) continue;
      window.acquire();
      upstream.publish(mqtt::make_message(prefix + message->get_topic(), message->get_payload(), 1, false), nullptr,
                       window);
      ++relayed;
    }
    window.drain(std::chrono::seconds(2));
    local.disconnect()->wait_for(std::chrono::seconds(2));
    upstream.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception& error) {
    std::fprintf(stderr, "relay: %s\n", error.what());
    return 1;
  }
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  std::ofstream(report_path) << "relayed=" << relayed << "\nfailed=" << window.failed()
                             << "\nmax_queue=" << inbox.max_depth() << "\ncpu_s="
                             << static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                                    static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
                             << "\n";
  return 0;
}
