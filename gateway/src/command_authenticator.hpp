// Decides whether a command on a command topic may change anything. Anyone on
// the care home's LAN can publish to the local broker, so a command counts
// only when it is signed (SignedCommand: HMAC-SHA256 under a key the box
// holds), fresh (its time within the replay window), new (its id not seen
// within that window) and within what its key may do (a staff key speaks only
// for its own staff member; resends and pings only from the platform).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/proto/signed_command.hpp"
#include "eldercare/v1/command.pb.h"

namespace eg::gateway {

class CommandAuthenticator {
 public:
  struct Options {
    // How far a command's time may be from ours, either way. Also how long
    // its id is remembered: an older copy fails the time check anyway.
    std::chrono::seconds window{120};
    // Ids remembered at most; when full, new commands wait for old ids to
    // expire (refused as "busy") rather than opening a replay gap.
    std::size_t max_remembered = 20'000;
  };

  // Why a command was refused; also the `reason` label of its metric.
  enum class Refusal {
    kMalformed,      // not a SignedCommand carrying a Command with an id
    kUnsigned,       // no authenticator at all
    kUnknownKey,     // signed with a key this box does not hold
    kBadSignature,   // the HMAC does not match: forged or altered
    kStale,          // no time, or outside the window (late, replayed later, or clock skew)
    kReplayed,       // this key already sent this id within the window
    kActorMismatch,  // a staff key signing for someone else
    kNotPermitted,   // a staff key or the console asking for what only the platform may
    kBusy,           // too many ids to remember
  };

  struct Verdict {
    std::optional<eldercare::v1::Command> command;  // set when accepted
    Refusal refusal = Refusal::kMalformed;          // why not, otherwise
    std::string key_id;                             // who signed (claimed, when refused)
  };

  CommandAuthenticator(std::vector<proto::CommandKey> keys, Options options);

  // `channel`: "platform" for the uplink's downlink topic, "console" for the
  // local command topic. An accepted command's channel is set to it: where a
  // command came from is what we saw, not what it says.
  Verdict verify(std::string_view payload, std::string_view channel, WallTime now);

  bool has_keys() const { return !keys_.empty(); }
  std::size_t remembered() const { return expiry_of_.size(); }

 private:
  void forget_expired(WallTime now);

  std::unordered_map<std::string, proto::CommandKey> keys_;  // by id
  Options options_;
  // (key id, command id) -> when it may be forgotten; and the same ordered by
  // that time, so forgetting costs only what is forgotten.
  std::unordered_map<std::string, WallTime> expiry_of_;
  std::multimap<WallTime, std::string> by_expiry_;
};

std::string_view to_string(CommandAuthenticator::Refusal refusal);

}  // namespace eg::gateway
