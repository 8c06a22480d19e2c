#include "eg/dc09/link_core.hpp"

#include <algorithm>
#include <stdexcept>

namespace eg::dc09 {
namespace {

// A NAK whose time is this close to the timestamp the NAKed frame carried was
// not about the time: rounding to whole seconds and the round trip stay well
// inside it, and DC-09's window (+20 s / -40 s) well outside.
constexpr std::chrono::seconds kClockTolerance{5};

const char* const kRefusal =
    ": the receiver refuses the message, not its time (check the account, receiver and line numbers and the key)";

}  // namespace

std::string Endpoint::describe() const {
  return std::string(transport == Transport::tcp ? "tcp " : "udp ") + host + ":" + std::to_string(port);
}

LinkCore::LinkCore(LinkSettings settings, PadSource pad, unsigned first_sequence)
    : settings_(std::move(settings)),
      pad_(std::move(pad)),
      next_sequence_(first_sequence >= 1 && first_sequence <= 9999 ? first_sequence : 1),
      paths_(settings_.paths.size()) {
  if (settings_.paths.empty()) throw std::invalid_argument("DC-09 link needs at least one receiver path");
  settings_.attempts_per_path = std::max(1, settings_.attempts_per_path);
}

unsigned LinkCore::take_sequence() {
  unsigned sequence = next_sequence_;
  next_sequence_ = sequence % 9999 + 1;  // 0001..9999, then 0001 again
  return sequence;
}

std::string LinkCore::frame(std::size_t path, const std::string& token, unsigned sequence, const std::string& data,
                            Now now) const {
  Message message;
  message.token = token;
  message.sequence = sequence;
  message.receiver = settings_.receiver;
  message.line = settings_.line;
  message.account = settings_.account;
  message.data = data;
  message.time = now.wall + paths_[path].time_offset;
  return encode(message, settings_.key, pad_);
}

std::size_t LinkCore::preferred_path(Now now) const {
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    const PathState& path = paths_[i];
    if (path.up || (path.down_until && now.steady >= *path.down_until)) return i;
  }
  return 0;
}

LinkCore::Actions LinkCore::enqueue(Outgoing message, Now now) {
  queue_.push_back(std::move(message));
  Actions out;
  pump(now, out);
  return out;
}

void LinkCore::pump(Now now, Actions& out) {
  if (!head_ && !queue_.empty()) {
    head_ = Head{};
    head_->sequence = take_sequence();
    head_->tried.assign(paths_.size(), false);
    head_->refused.assign(paths_.size(), false);
    head_->clock_adopted.assign(paths_.size(), false);
    head_->reconnect_used.assign(paths_.size(), false);
  }
  bool head_out = std::any_of(paths_.begin(), paths_.end(),
                              [](const PathState& p) { return p.in_flight && !p.in_flight->supervision; });
  if (head_ && !head_out && (!head_->not_before || now.steady >= *head_->not_before)) {
    if (!head_->path_chosen) {
      // A round starts on the path most likely to answer now.
      std::size_t path = preferred_path(now);
      for (std::size_t k = 0; k < paths_.size() && head_->refused[path]; ++k) path = (path + 1) % paths_.size();
      head_->path = path;
      head_->path_chosen = true;
      head_->tried[path] = true;
      head_->attempts_on_path = 0;
    }
    if (!paths_[head_->path].in_flight) send_head(now, out);
  }
  if (settings_.supervision_interval.count() <= 0) return;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    PathState& path = paths_[i];
    if (path.in_flight || now.steady < path.next_null) continue;
    // The head message waiting for this path tests it well enough.
    if (head_ && head_->path_chosen && head_->path == i && !head_out) continue;
    unsigned sequence = take_sequence();
    path.in_flight = InFlight{true, sequence, now.steady + settings_.ack_timeout, path.time_offset};
    path.next_null = now.steady + settings_.supervision_interval;
    out.transmits.push_back({i, frame(i, "NULL", sequence, "", now), true});
  }
}

void LinkCore::send_head(Now now, Actions& out) {
  const Outgoing& message = queue_.front();
  ++head_->attempts;
  ++head_->attempts_on_path;
  head_->not_before.reset();
  PathState& path = paths_[head_->path];
  path.in_flight = InFlight{false, head_->sequence, now.steady + settings_.ack_timeout, path.time_offset};
  out.transmits.push_back({head_->path, frame(head_->path, message.token, head_->sequence, message.data, now), false});
}

LinkCore::Actions LinkCore::on_reply(std::size_t path_index, const Result<Reply>& reply, Now now) {
  Actions out;
  PathState& path = paths_.at(path_index);
  const std::string where = settings_.paths[path_index].describe();
  if (!reply) {
    // Treated as no answer: the ack timeout retries.
    out.notes.push_back("unreadable reply from " + where + ": " + reply.error().reason);
    return out;
  }
  const Reply& answer = reply.value();
  const bool for_head = head_ && head_->attempts > 0 && answer.sequence == head_->sequence;
  // With a key, the receiver holding it answers "*ACK"; a plaintext ACK comes
  // from a receiver without our key (or a spoofer) and proves no delivery.
  const bool trusted = answer.kind != Reply::Kind::ack || settings_.key.empty() || answer.encrypted;
  if (answer.kind == Reply::Kind::ack && trusted && for_head &&
      (!path.in_flight || path.in_flight->sequence != head_->sequence) &&
      (answer.account.empty() || answer.account == settings_.account)) {
    // A late ACK for an earlier try of the head message (its attempt here
    // timed out): it was delivered; stop trying it elsewhere.
    for (auto& other : paths_)
      if (other.in_flight && !other.in_flight->supervision) other.in_flight.reset();
    out.outcomes.push_back({Outcome::Kind::delivered, queue_.front().id, path_index, head_->sequence, head_->attempts,
                            "late ACK from " + where});
    queue_.pop_front();
    head_.reset();
    set_path(path_index, true, "ACK received", now, out);
    pump(now, out);
    return out;
  }
  if (!path.in_flight) {
    out.notes.push_back("reply from " + where + " with nothing outstanding (ignored)");
    return out;
  }
  InFlight sent = *path.in_flight;
  if (answer.kind != Reply::Kind::ack && answer.sequence != 0 && answer.sequence != sent.sequence) {
    out.notes.push_back("reply from " + where + " for sequence " + std::to_string(answer.sequence) + " while " +
                        std::to_string(sent.sequence) + " is outstanding (ignored)");
    return out;
  }
  switch (answer.kind) {
    case Reply::Kind::ack:
      if (answer.sequence != sent.sequence) {
        out.notes.push_back("ACK from " + where + " for sequence " + std::to_string(answer.sequence) + " while " +
                            std::to_string(sent.sequence) + " is outstanding (ignored)");
        return out;
      }
      if (!answer.account.empty() && answer.account != settings_.account) {
        out.notes.push_back("ACK from " + where + " for account " + answer.account + " (ignored)");
        return out;
      }
      path.in_flight.reset();
      if (!trusted) {
        // As for no reply: retried, then the next path.
        const std::string why =
            "plaintext ACK from " + where + " although AES is configured (wrong or spoofed receiver)";
        if (sent.supervision) {
          supervision_result(path_index, false, why, now, out);
        } else {
          head_attempt_failed(path_index, why, false, now, out);
        }
        break;
      }
      if (sent.supervision) {
        supervision_result(path_index, true, "ACK", now, out);
      } else {
        Outcome delivered{Outcome::Kind::delivered, queue_.front().id, path_index,
                          head_->sequence,          head_->attempts,   "ACK from " + where};
        out.outcomes.push_back(std::move(delivered));
        queue_.pop_front();
        head_.reset();
        set_path(path_index, true, "ACK received", now, out);
        if (settings_.supervision_interval.count() > 0)
          path.next_null = now.steady + settings_.supervision_interval;  // traffic proves the path
      }
      break;
    case Reply::Kind::nak: {
      // DC-09 NAKs a message whose timestamp is outside the receiver's window
      // with the receiver's own time. Any other NAK refuses the message itself.
      path.in_flight.reset();
      std::optional<std::chrono::seconds> offset;
      if (answer.time) offset = std::chrono::round<std::chrono::seconds>(*answer.time - now.wall);
      if (sent.supervision) {
        if (offset) path.time_offset = *offset;
        supervision_result(path_index, true, "NAK (the receiver answers)", now, out);
      } else if (!offset) {
        head_refused(path_index, "NAK without a timestamp from " + where + kRefusal, now, out);
      } else if (head_->clock_adopted[path_index] && std::chrono::abs(*offset - sent.time_offset) <= kClockTolerance) {
        // The frame already carried the receiver's own time (iobroker.sia NAKs
        // an unknown account this way): sending it again cannot help.
        head_refused(path_index, "NAK from " + where + " again, for a message on the receiver's own time" + kRefusal,
                     now, out);
      } else {
        // Adopt the receiver's clock and send again at once, same sequence number.
        path.time_offset = *offset;
        head_->clock_adopted[path_index] = true;
        head_attempt_failed(path_index, "NAK from " + where + ": timestamp outside its window (its clock adopted)",
                            true, now, out);
      }
      break;
    }
    case Reply::Kind::duh:
      path.in_flight.reset();
      if (sent.supervision) {
        supervision_result(path_index, true, "DUH (the receiver answers)", now, out);
      } else {
        head_refused(path_index, "DUH from " + where + ": the receiver does not understand the message", now, out);
      }
      break;
  }
  pump(now, out);
  return out;
}

LinkCore::Actions LinkCore::on_transport_error(std::size_t path_index, const std::string& reason, Now now,
                                               bool reused_connection) {
  Actions out;
  PathState& path = paths_.at(path_index);
  if (!path.in_flight) return out;
  InFlight sent = *path.in_flight;
  path.in_flight.reset();
  const std::string why = settings_.paths[path_index].describe() + ": " + reason;
  if (!sent.supervision && reused_connection && !head_->reconnect_used[path_index]) {
    head_->reconnect_used[path_index] = true;
    --head_->attempts_on_path;  // the receiver had closed an idle connection: not a failure of this path
    head_->not_before = now.steady;
    out.notes.push_back("sequence " + std::to_string(head_->sequence) + " again on a new connection: " + why);
  } else if (sent.supervision) {
    supervision_result(path_index, false, why, now, out);
  } else {
    head_attempt_failed(path_index, why, false, now, out);
  }
  pump(now, out);
  return out;
}

LinkCore::Actions LinkCore::on_time(Now now) {
  Actions out;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    PathState& path = paths_[i];
    if (!path.in_flight || now.steady < path.in_flight->deadline) continue;
    InFlight sent = *path.in_flight;
    path.in_flight.reset();
    const std::string why =
        settings_.paths[i].describe() + ": no reply within " + std::to_string(settings_.ack_timeout.count()) + " ms";
    if (sent.supervision) {
      supervision_result(i, false, why, now, out);
    } else {
      head_attempt_failed(i, why, false, now, out);
    }
  }
  pump(now, out);
  return out;
}

void LinkCore::head_attempt_failed(std::size_t /*path*/, const std::string& reason, bool at_once, Now now,
                                   Actions& out) {
  out.notes.push_back("attempt " + std::to_string(head_->attempts) + " of sequence " + std::to_string(head_->sequence) +
                      " failed: " + reason);
  if (head_->attempts_on_path < settings_.attempts_per_path) {
    head_->not_before = at_once ? now.steady : now.steady + settings_.retry_delay;
    return;
  }
  move_to_next_path(reason, true, now, out);
}

void LinkCore::head_refused(std::size_t path, const std::string& reason, Now now, Actions& out) {
  out.notes.push_back("sequence " + std::to_string(head_->sequence) + " refused: " + reason);
  head_->refused[path] = true;
  move_to_next_path(reason, false, now, out);
}

void LinkCore::move_to_next_path(const std::string& reason, bool path_failed, Now now, Actions& out) {
  if (path_failed) set_path(head_->path, false, reason, now, out);
  // The other paths, in order after this one, each once per round.
  for (std::size_t k = 1; k < paths_.size(); ++k) {
    std::size_t next = (head_->path + k) % paths_.size();
    if (head_->tried[next] || head_->refused[next]) continue;
    head_->path = next;
    head_->tried[next] = true;
    head_->attempts_on_path = 0;
    head_->not_before = now.steady;
    return;
  }
  // Every path has had its tries.
  if (std::find(head_->refused.begin(), head_->refused.end(), false) == head_->refused.end()) {
    out.outcomes.push_back(
        {Outcome::Kind::rejected, queue_.front().id, head_->path, head_->sequence, head_->attempts, reason});
    queue_.pop_front();
    head_.reset();
    return;
  }
  if (!head_->failure_reported) {
    head_->failure_reported = true;
    out.outcomes.push_back(
        {Outcome::Kind::failed, queue_.front().id, head_->path, head_->sequence, head_->attempts, reason});
  }
  // Another round after a pause, same sequence number.
  head_->tried.assign(paths_.size(), false);
  head_->path_chosen = false;
  head_->not_before = now.steady + settings_.retry_pause;
}

void LinkCore::supervision_result(std::size_t path_index, bool ok, const std::string& reason, Now now, Actions& out) {
  PathState& path = paths_[path_index];
  if (ok) {
    path.null_failures = 0;
    path.next_null = now.steady + settings_.supervision_interval;
    set_path(path_index, true, "supervision: " + reason, now, out);
    return;
  }
  if (++path.null_failures < settings_.attempts_per_path) {
    path.next_null = now.steady + settings_.retry_delay;
    return;
  }
  path.null_failures = 0;
  path.next_null = now.steady + std::min(settings_.supervision_interval,
                                         std::chrono::duration_cast<std::chrono::milliseconds>(settings_.retry_pause));
  set_path(path_index, false, "supervision: " + reason, now, out);
}

void LinkCore::set_path(std::size_t path_index, bool up, const std::string& reason, Now now, Actions& out) {
  PathState& path = paths_[path_index];
  if (up) {
    path.down_until.reset();
  } else {
    path.down_until = now.steady + settings_.retry_pause;
  }
  if (path.up == up) return;
  path.up = up;
  out.path_changes.push_back({path_index, up, reason});
}

std::optional<SteadyTime> LinkCore::next_wakeup() const {
  std::optional<SteadyTime> earliest;
  auto consider = [&](SteadyTime t) {
    if (!earliest || t < *earliest) earliest = t;
  };
  bool head_out = false;
  for (const PathState& path : paths_) {
    if (path.in_flight) {
      consider(path.in_flight->deadline);
      head_out = head_out || !path.in_flight->supervision;
    } else if (settings_.supervision_interval.count() > 0) {
      consider(path.next_null);
    }
  }
  // A head waiting for its path to finish a NULL is woken by that NULL's
  // answer or deadline, not by its own (past) not_before.
  if (head_ && !head_out && head_->not_before && !(head_->path_chosen && paths_[head_->path].in_flight))
    consider(*head_->not_before);
  return earliest;
}

}  // namespace eg::dc09
