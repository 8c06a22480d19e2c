#include <catch2/catch.hpp>

#include "commit_group.hpp"

using eg::gateway::CommitGroup;
namespace v1 = eldercare::v1;

namespace {
v1::AlertTransition transition(const std::string& alert, std::uint64_t sequence) {
  v1::AlertTransition t;
  t.set_alert_id(alert);
  t.set_sequence(sequence);
  return t;
}
}  // namespace

TEST_CASE("a committed group releases its acknowledgements and keeps its numbers", "[gateway][commit]") {
  CommitGroup group(41, 100);
  CHECK(group.next_sequence() == 42);
  group.stored(42);
  group.ack_after_commit(7);
  group.stored_own(43, transition("a", 43));
  group.ack_after_commit(8);
  CHECK(group.pending_acks() == 2);
  CHECK(group.committed() == std::vector<std::uint64_t>{7, 8});
  CHECK(group.committed_sequence() == 43);
  CHECK(group.next_sequence() == 44);
  CHECK(group.pending_acks() == 0);
  CHECK_FALSE(group.has_held());
}

TEST_CASE("a lost group withholds every acknowledgement, takes its numbers back and holds its own rows",
          "[gateway][commit]") {
  CommitGroup group(10, 100);
  group.hold(transition("older", 0));  // already waiting from before
  group.stored(11);
  group.ack_after_commit(1);
  group.stored_message(555);
  group.stored_own(12, transition("raised", 12));
  group.stored_own(13, transition("escalating", 13));

  auto lost = group.lost();
  CHECK(lost.acks_withheld == 1);
  CHECK(lost.message_keys == std::vector<std::int64_t>{555});
  CHECK(group.pending_acks() == 0);
  CHECK(group.next_sequence() == 11);                        // no hole: 11 is handed out again
  CHECK(group.committed() == std::vector<std::uint64_t>{});  // nothing to acknowledge after a loss
  // The lost group's own rows come first, in their order, unnumbered.
  REQUIRE(group.held() == 3);
  CHECK(std::get<v1::AlertTransition>(group.front_held()).alert_id() == "raised");
  CHECK(std::get<v1::AlertTransition>(group.front_held()).sequence() == 0);
  group.pop_held();
  CHECK(std::get<v1::AlertTransition>(group.front_held()).alert_id() == "escalating");
  group.pop_held();
  CHECK(std::get<v1::AlertTransition>(group.front_held()).alert_id() == "older");
}

TEST_CASE("rows held in memory are bounded, the oldest dropped and counted", "[gateway][commit]") {
  CommitGroup group(0, 2);
  for (int i = 0; i < 5; ++i) group.hold(transition("t" + std::to_string(i), 0));
  CHECK(group.held() == 2);
  CHECK(group.held_dropped() == 3);
  CHECK(std::get<v1::AlertTransition>(group.front_held()).alert_id() == "t3");
}
