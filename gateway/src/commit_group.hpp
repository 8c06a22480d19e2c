// The open group of store writes, and everything that may count only once it
// commits: the broker acknowledgements of its messages, the sequence numbers
// it used, the identities of the messages it stored, and the gateway's own
// rows (its health events and alert transitions), which nobody would send
// again if the group were lost. Sans-I/O: the gateway writes and commits, and
// tells this ledger what happened; loop thread only.
//
//   stored(seq) ... ack_after_commit(token) ... committed() -> acks to send
//                                            \- lost()     -> acks withheld,
//                                               sequence numbers taken back,
//                                               own rows held for later
#pragma once

#include <cstdint>
#include <deque>
#include <variant>
#include <vector>

#include "eldercare/v1/alert.pb.h"
#include "eldercare/v1/sensor_event.pb.h"

namespace eg::gateway {

class CommitGroup {
 public:
  // A row the gateway made itself: kept in memory when it cannot be stored.
  using OwnRow = std::variant<eldercare::v1::SensorEvent, eldercare::v1::AlertTransition>;

  CommitGroup(std::uint64_t last_committed_sequence, std::size_t max_held)
      : committed_(last_committed_sequence), last_(last_committed_sequence), max_held_(max_held) {}

  // The number the next stored row gets: numbers go only to rows written.
  std::uint64_t next_sequence() const { return last_ + 1; }
  std::uint64_t last_sequence() const { return last_; }
  std::uint64_t committed_sequence() const { return committed_; }

  // A row numbered `sequence` is in the open group (own: made by the gateway).
  void stored(std::uint64_t sequence) { last_ = sequence; }
  void stored_own(std::uint64_t sequence, OwnRow row) {
    last_ = sequence;
    own_.push_back(std::move(row));
  }
  // A broker message whose rows are in the group: acknowledge it on commit.
  void ack_after_commit(std::uint64_t token) { acks_.push_back(token); }
  std::size_t pending_acks() const { return acks_.size(); }
  // Identity of a broker message stored in the group (RedeliveryFilter key).
  void stored_message(std::int64_t key) { keys_.push_back(key); }

  // The group is durable: returns the acknowledgements that may now be sent.
  std::vector<std::uint64_t> committed() {
    committed_ = last_;
    own_.clear();
    keys_.clear();
    return std::exchange(acks_, {});
  }

  struct Lost {
    std::size_t acks_withheld = 0;
    std::vector<std::int64_t> message_keys;  // these messages were not stored after all
  };
  // The group was rolled back: nothing of it is acknowledged, its numbers are
  // taken back, and the gateway's own rows wait in memory, ahead of newer ones.
  Lost lost() {
    Lost out{acks_.size(), std::exchange(keys_, {})};
    acks_.clear();
    last_ = committed_;
    for (auto it = own_.rbegin(); it != own_.rend(); ++it) {
      unnumber(*it);
      held_.push_front(std::move(*it));
    }
    own_.clear();
    trim_held();
    return out;
  }

  // --- rows waiting in memory while the store cannot write ---
  void hold(OwnRow row) {
    unnumber(row);
    held_.push_back(std::move(row));
    trim_held();
  }
  bool has_held() const { return !held_.empty(); }
  OwnRow& front_held() { return held_.front(); }
  void pop_held() { held_.pop_front(); }
  std::size_t held() const { return held_.size(); }
  // Rows dropped because more than max_held waited (oldest first).
  std::uint64_t held_dropped() const { return held_dropped_; }

 private:
  static void unnumber(OwnRow& row) {
    std::visit([](auto& message) { message.clear_sequence(); }, row);
  }
  void trim_held() {
    while (held_.size() > max_held_) {
      held_.pop_front();
      ++held_dropped_;
    }
  }

  std::uint64_t committed_;
  std::uint64_t last_;
  std::size_t max_held_;
  std::vector<std::uint64_t> acks_;
  std::vector<OwnRow> own_;
  std::vector<std::int64_t> keys_;
  std::deque<OwnRow> held_;
  std::uint64_t held_dropped_ = 0;
};

}  // namespace eg::gateway
