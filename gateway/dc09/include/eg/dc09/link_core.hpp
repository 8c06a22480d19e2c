// The DC-09 link, sans-I/O: a FIFO of alarm messages delivered one at a time
// over a primary and optional backup receiver path, with retries on the same
// sequence number, NAK time adoption, refusals (DUH, a NAK not about the
// time), failover and NULL supervision. With a key, only an encrypted ACK
// ("*ACK") counts as delivery. It owns no socket and no timer: it is fed
// replies, transport errors and "time is now T", and returns frames to
// transmit, outcomes and path changes, plus when it next needs waking. The
// Asio Transmitter drives it; unit tests drive it in virtual time.
//
// Order: messages leave strictly in the order they were enqueued; a message
// that cannot be delivered holds the queue (and keeps being retried), so an
// alarm is never overtaken by its own restore or cancel.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/dc09/frame.hpp"

namespace eg::dc09 {

enum class Transport { tcp, udp };

struct Endpoint {
  std::string host;  // numeric address or name
  std::uint16_t port = 0;
  Transport transport = Transport::tcp;
  std::string describe() const;  // "tcp 127.0.0.1:12000"
};

struct LinkSettings {
  std::string account;  // 3..16 hex digits
  std::string receiver = "0";
  std::string line = "0";
  Key key;                      // empty: plain messages
  std::vector<Endpoint> paths;  // primary first, then backup(s); at least one
  std::chrono::milliseconds ack_timeout{5000};
  int attempts_per_path = 3;                          // tries on one path before moving to the next
  std::chrono::milliseconds retry_delay{500};         // between tries on one path
  std::chrono::milliseconds retry_pause{10000};       // after every path failed, and before a down path is tried again
  std::chrono::milliseconds supervision_interval{0};  // NULL message period per path; 0: off
  // A TCP connection older than this is replaced before the next frame:
  // receivers close idle connections (iobroker.sia after 30 s), and a frame
  // written into a closing connection is lost to the receiver.
  std::chrono::milliseconds tcp_reuse_for{20000};
};

struct Now {
  WallTime wall;
  SteadyTime steady;
};

struct Outgoing {
  std::uint64_t id = 0;  // the caller's handle, reported back in outcomes
  std::string token;     // "ADM-CID" or "SIA-DCS"
  std::string data;      // the content of the first [ ]
};

class LinkCore {
 public:
  struct Transmit {
    std::size_t path = 0;
    std::string frame;
    bool supervision = false;
  };
  struct Outcome {
    enum class Kind {
      delivered,  // ACK from a receiver
      failed,     // every path tried and failed; still queued and retried
      rejected,   // refused by every path (DUH, or a NAK not about the time): no receiver takes it; dropped
    };
    Kind kind = Kind::delivered;
    std::uint64_t id = 0;
    std::size_t path = 0;
    unsigned sequence = 0;
    int attempts = 0;  // transmissions so far, over all paths
    std::string detail;
  };
  struct PathChange {
    std::size_t path = 0;
    bool up = false;
    std::string reason;
  };
  struct Actions {
    std::vector<Transmit> transmits;
    std::vector<Outcome> outcomes;
    std::vector<PathChange> path_changes;
    std::vector<std::string> notes;  // ignored replies and the like, for the log
  };

  explicit LinkCore(LinkSettings settings, PadSource pad = random_pad, unsigned first_sequence = 1);

  Actions enqueue(Outgoing message, Now now);
  Actions on_reply(std::size_t path, const Result<Reply>& reply, Now now);
  // The path's transport failed (refused, reset, closed) while a frame was out.
  // `reused_connection`: the frame went out on a TCP connection that had
  // already carried an exchange and the receiver closed it (receivers close
  // idle connections): once per message and path this is retried at once,
  // without counting as a failed attempt.
  Actions on_transport_error(std::size_t path, const std::string& reason, Now now, bool reused_connection = false);
  Actions on_time(Now now);
  std::optional<SteadyTime> next_wakeup() const;

  const LinkSettings& settings() const { return settings_; }
  std::size_t queued() const { return queue_.size(); }
  bool path_up(std::size_t path) const { return paths_.at(path).up; }
  // A frame (message or NULL) is out on this path, awaiting its answer.
  bool busy(std::size_t path) const { return paths_.at(path).in_flight.has_value(); }
  // A path's receiver clock minus ours, learned from its NAKs; added to the
  // timestamps of frames for that path (two receivers may disagree).
  std::chrono::seconds time_offset(std::size_t path = 0) const { return paths_.at(path).time_offset; }

 private:
  struct InFlight {
    bool supervision = false;
    unsigned sequence = 0;
    SteadyTime deadline;
    std::chrono::seconds time_offset{0};  // the path's offset the frame was stamped with
  };
  struct PathState {
    bool up = true;  // optimistic until a path fails
    std::optional<InFlight> in_flight;
    std::optional<SteadyTime> down_until;
    SteadyTime next_null{};
    int null_failures = 0;
    std::chrono::seconds time_offset{0};  // this receiver's clock minus ours
  };
  struct Head {  // the message at the front of the queue, while it is worked on
    unsigned sequence = 0;
    std::size_t path = 0;
    int attempts_on_path = 0;
    int attempts = 0;
    bool path_chosen = false;         // else pick the preferred path when it is next sent
    std::vector<bool> tried;          // per path, this round
    std::vector<bool> refused;        // per path: DUH, or a NAK that is not about the time
    std::vector<bool> clock_adopted;  // per path: a NAK's time was adopted and the message resent
    bool failure_reported = false;
    std::vector<bool> reconnect_used;  // per path: the free retry after a closed reused connection
    std::optional<SteadyTime> not_before;
  };

  void pump(Now now, Actions& out);
  void send_head(Now now, Actions& out);
  void head_attempt_failed(std::size_t path, const std::string& reason, bool at_once, Now now, Actions& out);
  void head_refused(std::size_t path, const std::string& reason, Now now, Actions& out);
  void move_to_next_path(const std::string& reason, bool path_failed, Now now, Actions& out);
  void supervision_result(std::size_t path, bool ok, const std::string& reason, Now now, Actions& out);
  void set_path(std::size_t path, bool up, const std::string& reason, Now now, Actions& out);
  std::size_t preferred_path(Now now) const;  // first path that is up (or due another try)
  unsigned take_sequence();
  std::string frame(std::size_t path, const std::string& token, unsigned sequence, const std::string& data,
                    Now now) const;

  LinkSettings settings_;
  PadSource pad_;
  unsigned next_sequence_;
  std::deque<Outgoing> queue_;
  std::optional<Head> head_;
  std::vector<PathState> paths_;
};

}  // namespace eg::dc09
