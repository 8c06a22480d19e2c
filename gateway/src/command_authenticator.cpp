#include "command_authenticator.hpp"

#include <google/protobuf/util/time_util.h>

namespace eg::gateway {

namespace v1 = eldercare::v1;
using Refusal = CommandAuthenticator::Refusal;

namespace {

// A nonce long enough for a UUID and then some; longer ids are not ids.
constexpr std::size_t kMaxCommandId = 128;

WallTime to_wall(const google::protobuf::Timestamp& time) {
  return WallTime{std::chrono::duration_cast<WallTime::duration>(
      std::chrono::nanoseconds(google::protobuf::util::TimeUtil::TimestampToNanoseconds(time)))};
}

bool platform_only(const v1::Command& command) {
  return command.has_resend_from() || command.has_ping();
}

}  // namespace

CommandAuthenticator::CommandAuthenticator(std::vector<proto::CommandKey> keys, Options options) : options_(options) {
  for (auto& key : keys) {
    std::string id = key.id;
    keys_.emplace(std::move(id), std::move(key));
  }
}

CommandAuthenticator::Verdict CommandAuthenticator::verify(std::string_view payload, std::string_view channel,
                                                           WallTime now) {
  Verdict verdict;
  auto refuse = [&](Refusal why) {
    verdict.refusal = why;
    verdict.command.reset();
    return verdict;
  };
  v1::SignedCommand signed_command;
  if (!signed_command.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
      signed_command.command().empty())
    return refuse(Refusal::kMalformed);
  verdict.key_id = signed_command.key_id();
  if (signed_command.hmac().empty() || signed_command.key_id().empty()) return refuse(Refusal::kUnsigned);
  auto key = keys_.find(signed_command.key_id());
  if (key == keys_.end()) return refuse(Refusal::kUnknownKey);
  // The signature first: nothing in an unauthenticated body is read.
  if (!proto::constant_time_equal(proto::hmac_sha256(key->second.secret, signed_command.command()),
                                  signed_command.hmac()))
    return refuse(Refusal::kBadSignature);

  v1::Command command;
  if (!command.ParseFromString(signed_command.command()) || command.id().empty() ||
      command.id().size() > kMaxCommandId || command.body_case() == v1::Command::BODY_NOT_SET)
    return refuse(Refusal::kMalformed);
  if (!command.has_time()) return refuse(Refusal::kStale);
  const WallTime sent = to_wall(command.time());
  if (sent < now - options_.window || sent > now + options_.window) return refuse(Refusal::kStale);
  const bool staff_key = key->second.role == proto::CommandKey::Role::kStaff;
  if (staff_key && command.actor() != key->second.id) return refuse(Refusal::kActorMismatch);
  if (platform_only(command) && (staff_key || channel != "platform")) return refuse(Refusal::kNotPermitted);

  forget_expired(now);
  std::string nonce = key->second.id + '\n' + command.id();
  if (expiry_of_.contains(nonce)) return refuse(Refusal::kReplayed);
  if (expiry_of_.size() >= options_.max_remembered) return refuse(Refusal::kBusy);
  const WallTime forget_at = sent + options_.window;
  expiry_of_.emplace(nonce, forget_at);
  by_expiry_.emplace(forget_at, std::move(nonce));

  command.set_channel(std::string(channel));
  verdict.command = std::move(command);
  return verdict;
}

void CommandAuthenticator::forget_expired(WallTime now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now) {
    expiry_of_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

std::string_view to_string(Refusal refusal) {
  switch (refusal) {
    case Refusal::kMalformed:
      return "malformed";
    case Refusal::kUnsigned:
      return "unsigned";
    case Refusal::kUnknownKey:
      return "unknown_key";
    case Refusal::kBadSignature:
      return "bad_signature";
    case Refusal::kStale:
      return "stale";
    case Refusal::kReplayed:
      return "replayed";
    case Refusal::kActorMismatch:
      return "actor_mismatch";
    case Refusal::kNotPermitted:
      return "not_permitted";
    case Refusal::kBusy:
      return "busy";
  }
  return "unknown";
}

}  // namespace eg::gateway
