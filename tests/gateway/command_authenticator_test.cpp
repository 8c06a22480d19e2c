#include "command_authenticator.hpp"

#include <google/protobuf/util/time_util.h>
#include <catch2/catch.hpp>

#include "command_signing.hpp"

using eg::gateway::CommandAuthenticator;
using Refusal = CommandAuthenticator::Refusal;
using google::protobuf::util::TimeUtil;
namespace v1 = eldercare::v1;
using namespace std::chrono_literals;

namespace {

const eg::WallTime kNow{std::chrono::seconds(1'767'225'600)};

CommandAuthenticator authenticator(std::size_t max_remembered = 1000) {
  auto keys = eg::proto::parse_command_keys(eg::test::command_keys_text(), "keys");
  return CommandAuthenticator(std::move(keys), {.window = 120s, .max_remembered = max_remembered});
}

v1::Command acknowledgement(const std::string& id, eg::WallTime sent = kNow, const std::string& actor = "nurse-7") {
  v1::Command command;
  command.set_id(id);
  command.set_actor(actor);
  *command.mutable_time() = TimeUtil::MillisecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::milliseconds>(sent.time_since_epoch()).count());
  command.mutable_acknowledge()->set_alert_id("alert-1");
  return command;
}

Refusal refusal_of(CommandAuthenticator& auth, const std::string& payload, std::string_view channel = "console",
                   eg::WallTime now = kNow) {
  auto verdict = auth.verify(payload, channel, now);
  REQUIRE_FALSE(verdict.command.has_value());
  return verdict.refusal;
}

}  // namespace

TEST_CASE("commands: a command signed with a staff member's key for herself is accepted once", "[gateway][commands]") {
  auto auth = authenticator();
  auto payload = eg::test::signed_command(acknowledgement("c-1"));
  auto verdict = auth.verify(payload, "console", kNow);
  REQUIRE(verdict.command.has_value());
  CHECK(verdict.command->acknowledge().alert_id() == "alert-1");
  CHECK(verdict.command->channel() == "console");  // where it came from, not what it says
  CHECK(verdict.key_id == "nurse-7");
  CHECK(refusal_of(auth, payload) == Refusal::kReplayed);
  CHECK(auth.remembered() == 1);
}

TEST_CASE("commands: unsigned, forged, altered and unknown-key commands change nothing", "[gateway][commands]") {
  auto auth = authenticator();
  // A bare Command, as every console sent before signing.
  auto bare = refusal_of(auth, acknowledgement("c-1").SerializeAsString());
  CHECK((bare == Refusal::kUnsigned || bare == Refusal::kMalformed));
  v1::SignedCommand unsigned_command;
  unsigned_command.set_command(acknowledgement("c-2").SerializeAsString());
  unsigned_command.set_key_id("nurse-7");
  CHECK(refusal_of(auth, unsigned_command.SerializeAsString()) == Refusal::kUnsigned);
  // Signed with a key the box does not hold under that name.
  CHECK(refusal_of(auth, eg::proto::sign_command(acknowledgement("c-3"), "nurse-7", std::string(32, 'x'))) ==
        Refusal::kBadSignature);
  CHECK(refusal_of(auth, eg::proto::sign_command(acknowledgement("c-4"), "nurse-9", std::string(32, 'x'))) ==
        Refusal::kUnknownKey);
  // A genuine signature over a body someone changed afterwards.
  v1::SignedCommand altered;
  altered.ParseFromString(eg::test::signed_command(acknowledgement("c-5")));
  auto body = acknowledgement("c-5");
  body.mutable_acknowledge()->set_alert_id("alert-2");
  altered.set_command(body.SerializeAsString());
  CHECK(refusal_of(auth, altered.SerializeAsString()) == Refusal::kBadSignature);
  CHECK(refusal_of(auth, "\xff\xfe garbage") == Refusal::kMalformed);
  CHECK(refusal_of(auth, "") == Refusal::kMalformed);
  CHECK(auth.remembered() == 0);
}

TEST_CASE("commands: time, identity and permission are checked inside the signature", "[gateway][commands]") {
  auto auth = authenticator();
  CHECK(refusal_of(auth, eg::test::signed_command(acknowledgement("late", kNow - 121s))) == Refusal::kStale);
  CHECK(refusal_of(auth, eg::test::signed_command(acknowledgement("early", kNow + 121s))) == Refusal::kStale);
  CHECK(auth.verify(eg::test::signed_command(acknowledgement("skewed", kNow - 119s)), "console", kNow).command);
  // A staff key speaks only for its own staff member.
  CHECK(refusal_of(auth, eg::test::signed_command(acknowledgement("other", kNow, "nurse-8"))) ==
        Refusal::kActorMismatch);
  // The platform's key signs for its own users...
  CHECK(auth.verify(eg::test::signed_command(acknowledgement("p-1", kNow, "operator-3"), "platform"), "platform", kNow)
            .command);
  // ...and only it may ask for a resend, and only on the platform's topic.
  v1::Command resend;
  resend.set_id("r-1");
  resend.set_actor("nurse-7");
  *resend.mutable_time() = acknowledgement("x").time();
  resend.mutable_resend_from()->set_from_sequence(1);
  CHECK(refusal_of(auth, eg::test::signed_command(resend)) == Refusal::kNotPermitted);
  CHECK(refusal_of(auth, eg::test::signed_command(resend, "platform"), "console") == Refusal::kNotPermitted);
  CHECK(auth.verify(eg::test::signed_command(resend, "platform"), "platform", kNow).command);
}

TEST_CASE("commands: ids are remembered for the window, and a full memory refuses rather than forgets",
          "[gateway][commands]") {
  auto auth = authenticator(3);
  for (int i = 0; i < 3; ++i)
    REQUIRE(auth.verify(eg::test::signed_command(acknowledgement("n-" + std::to_string(i))), "console", kNow).command);
  CHECK(refusal_of(auth, eg::test::signed_command(acknowledgement("n-3"))) == Refusal::kBusy);
  // Past the window the old ids are forgotten: their commands are stale by now anyway.
  const auto later = kNow + 121s;
  CHECK(refusal_of(auth, eg::test::signed_command(acknowledgement("n-0")), "console", later) == Refusal::kStale);
  CHECK(auth.verify(eg::test::signed_command(acknowledgement("n-4", later)), "console", later).command);
  CHECK(auth.remembered() == 1);
}
