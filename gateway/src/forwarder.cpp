#include "forwarder.hpp"

#include <spdlog/spdlog.h>

namespace eg::gateway {

namespace {
constexpr std::size_t kReadBatch = 512;
}

Forwarder::Forwarder(boost::asio::io_context& io, Store& store, MqttLink& upstream, const UpstreamBrokerConfig& config,
                     Metrics& metrics, Hooks hooks)
    : io_(io),
      store_(store),
      upstream_(upstream),
      config_(config),
      metrics_(metrics),
      hooks_(std::move(hooks)),
      retry_(io) {}

void Forwarder::committed(std::uint64_t sequence) {
  if (sequence <= committed_) return;
  committed_ = sequence;
  pump();
}

OutboxRow* Forwarder::front(Lane& lane) {
  while (true) {
    if (lane.queue.empty()) {
      if (lane.cursor >= committed_) return nullptr;
      std::vector<OutboxRow> rows;
      try {
        rows = store_.undelivered(lane.leaf, lane.cursor, committed_, kReadBatch);
      } catch (const StoreError& error) {
        metrics_.add("store_errors_total");
        spdlog::error("OUTBOX_READ_FAILED lane={} reason=\"{}\"", lane.leaf, error.what());
        return nullptr;
      }
      if (rows.empty()) {
        lane.cursor = committed_;  // nothing undelivered up to the commit point
        return nullptr;
      }
      lane.cursor = rows.back().sequence;
      for (auto& row : rows) lane.queue.push_back(std::move(row));
    }
    if (!inflight_.contains(lane.queue.front().sequence)) return &lane.queue.front();
    lane.queue.pop_front();  // already on its way (a resend overlapped it)
  }
}

bool Forwarder::take_token() {
  if (config_.max_rate_per_s <= 0) return true;
  auto now = std::chrono::steady_clock::now();
  double rate = config_.max_rate_per_s;
  tokens_ = std::min(rate, tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate);
  refilled_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void Forwarder::pump() {
  const std::size_t window = static_cast<std::size_t>(config_.max_inflight);
  while (upstream_.connected() && inflight_.size() < window) {
    Lane* lane = &alerts_;
    OutboxRow* row = front(alerts_);  // alerts first, always, and never rate-limited
    if (row == nullptr) {
      lane = &events_;
      row = front(events_);
      if (row == nullptr) break;
      if (!take_token()) {
        if (!retry_armed_) {  // come back when the bucket has a token again
          retry_armed_ = true;
          retry_.expires_after(std::chrono::milliseconds(std::max(1, static_cast<int>(1000 / config_.max_rate_per_s))));
          retry_.async_wait([this](boost::system::error_code ec) {
            retry_armed_ = false;
            if (!ec) pump();
          });
        }
        break;
      }
    }
    OutboxRow message = std::move(*row);
    lane->queue.pop_front();
    inflight_.insert(message.sequence);
    std::uint64_t sequence = message.sequence;
    upstream_.publish(hooks_.topic(lane->leaf), std::move(message.payload), config_.qos, false,
                      [this, lane, sequence](bool delivered) { published(*lane, sequence, delivered); });
  }
  metrics_.set("upstream_inflight", inflight_.size());
}

void Forwarder::published(Lane& lane, std::uint64_t sequence, bool delivered) {
  bool was_inflight = inflight_.erase(sequence) > 0;
  if (delivered) {
    metrics_.add(lane.leaf == "alert" ? "alerts_delivered_total" : "events_delivered_total");
    hooks_.write([&] { store_.mark_delivered(sequence); });
  } else if (was_inflight) {
    metrics_.add("upstream_publish_failures_total");
    rewind(lane, sequence);  // read it again, in order, once the link is back
  }
  pump();
}

void Forwarder::rewind(Lane& lane, std::uint64_t before_sequence) {
  if (before_sequence == 0) return;
  lane.cursor = std::min(lane.cursor, before_sequence - 1);
  lane.queue.clear();
}

void Forwarder::connection_changed(bool connected) {
  if (!connected) {
    // Whatever was in flight may never be acknowledged: read it again from the
    // store after reconnecting. Paho may deliver some of it as well; the
    // platform drops duplicates by id and sequence.
    for (std::uint64_t sequence : inflight_) {
      rewind(alerts_, sequence);
      rewind(events_, sequence);
    }
    inflight_.clear();
    return;
  }
  pump();
}

void Forwarder::resend_from(std::uint64_t sequence) {
  // Delivered rows are not in the undelivered lanes: mark them pending again.
  hooks_.write([&] { store_.mark_undelivered_from(sequence); });
  rewind(alerts_, sequence);
  rewind(events_, sequence);
  metrics_.add("resend_requests_total");
  pump();
}

}  // namespace eg::gateway
