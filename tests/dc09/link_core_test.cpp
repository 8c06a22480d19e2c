// The DC-09 link logic in virtual time: retries on the same sequence number,
// failover to the backup path, NAK time adoption, DUH, supervision, order.
#include <algorithm>
#include <catch2/catch.hpp>

#include "eg/dc09/link_core.hpp"

using namespace eg;
using namespace eg::dc09;
using namespace std::chrono_literals;

namespace {

const WallTime kStart = std::chrono::sys_days{std::chrono::year{2026} / 11 / 24} + std::chrono::hours{22};

struct Harness {
  LinkSettings settings;
  Now now{kStart, SteadyTime{}};

  Harness(int paths = 2, std::chrono::milliseconds supervision = 0ms) {
    settings.account = "1234";
    settings.paths.push_back({"127.0.0.1", 12000, Transport::tcp});
    if (paths > 1) settings.paths.push_back({"127.0.0.1", 12001, Transport::udp});
    settings.ack_timeout = 2000ms;
    settings.attempts_per_path = 2;
    settings.retry_delay = 500ms;
    settings.retry_pause = 10000ms;
    settings.supervision_interval = supervision;
  }
  void advance(std::chrono::milliseconds d) {
    now.wall += d;
    now.steady += d;
  }
  // Advances to the core's next wake-up and runs it.
  LinkCore::Actions wake(LinkCore& core) {
    auto next = core.next_wakeup();
    REQUIRE(next);
    auto d = *next - now.steady;
    now.steady += d;
    now.wall += std::chrono::duration_cast<WallTime::duration>(d);
    return core.on_time(now);
  }
};

Result<Reply> ack(unsigned sequence, std::string account = "1234", bool encrypted = false) {
  Reply r;
  r.kind = Reply::Kind::ack;
  r.sequence = sequence;
  r.account = std::move(account);
  r.encrypted = encrypted;
  return r;
}
Result<Reply> nak(std::optional<WallTime> time) {
  Reply r;
  r.kind = Reply::Kind::nak;
  r.time = time;
  return r;
}
Result<Reply> duh() {
  Reply r;
  r.kind = Reply::Kind::duh;
  return r;
}

std::string pad(std::size_t n) {
  return std::string(n, 'P');
}

// The sequence number field of a frame (plain: right after the closing quote).
unsigned sequence_of(const std::string& frame) {
  auto quote = frame.find('"', frame.find('"') + 1);
  return static_cast<unsigned>(std::stoul(frame.substr(quote + 1, 4)));
}

}  // namespace

TEST_CASE("dc09 link delivers in order, one frame in flight, numbering 0001 upwards", "[dc09]") {
  Harness h;
  LinkCore core(h.settings, pad);
  auto a = core.enqueue({1, "ADM-CID", "#1234|1101 01 002"}, h.now);
  REQUIRE(a.transmits.size() == 1);
  CHECK(a.transmits[0].path == 0);
  CHECK(a.transmits[0].frame.find("\"ADM-CID\"0001R0L0#1234[#1234|1101 01 002]_22:00:00,11-24-2026") !=
        std::string::npos);
  CHECK(core.enqueue({2, "ADM-CID", "#1234|3101 01 002"}, h.now).transmits.empty());  // waits its turn
  auto b = core.on_reply(0, ack(1), h.now);
  REQUIRE(b.outcomes.size() == 1);
  CHECK(b.outcomes[0].kind == LinkCore::Outcome::Kind::delivered);
  CHECK(b.outcomes[0].id == 1);
  CHECK(b.outcomes[0].sequence == 1);
  REQUIRE(b.transmits.size() == 1);
  CHECK(sequence_of(b.transmits[0].frame) == 2);
  CHECK(core.on_reply(0, ack(2), h.now).outcomes.at(0).id == 2);
  CHECK(core.queued() == 0);
  CHECK_FALSE(core.next_wakeup());
}

TEST_CASE("dc09 link retries with the same sequence, fails over to the backup, and reports failure once", "[dc09]") {
  Harness h;
  LinkCore core(h.settings, pad);
  auto first = core.enqueue({7, "ADM-CID", "#1234|1101 01 002"}, h.now);
  REQUIRE(first.transmits.size() == 1);
  std::vector<std::pair<std::size_t, unsigned>> sent{{first.transmits[0].path, sequence_of(first.transmits[0].frame)}};
  std::vector<LinkCore::Outcome> outcomes;
  std::vector<LinkCore::PathChange> changes;
  // No answer anywhere: 2 tries on the primary, 2 on the backup, then a pause.
  for (int i = 0; i < 8 && sent.size() < 4; ++i) {
    auto a = h.wake(core);
    for (auto& t : a.transmits) sent.emplace_back(t.path, sequence_of(t.frame));
    outcomes.insert(outcomes.end(), a.outcomes.begin(), a.outcomes.end());
    changes.insert(changes.end(), a.path_changes.begin(), a.path_changes.end());
  }
  REQUIRE(sent.size() == 4);
  CHECK(sent == std::vector<std::pair<std::size_t, unsigned>>{{0, 1}, {0, 1}, {1, 1}, {1, 1}});
  CHECK(changes.size() == 1);                                                         // primary down
  CHECK(core.enqueue({8, "ADM-CID", "#1234|3101 01 002"}, h.now).transmits.empty());  // queued behind
  auto exhausted = h.wake(core);                                                      // backup's second try times out
  REQUIRE(exhausted.outcomes.size() == 1);
  CHECK(exhausted.outcomes[0].kind == LinkCore::Outcome::Kind::failed);
  CHECK(exhausted.outcomes[0].id == 7);
  CHECK(exhausted.outcomes[0].attempts == 4);
  REQUIRE(exhausted.path_changes.size() == 1);
  CHECK(exhausted.path_changes[0].path == 1);
  CHECK_FALSE(exhausted.path_changes[0].up);
  CHECK(exhausted.transmits.empty());
  // After the pause: the primary again, same sequence; it answers now.
  auto again = h.wake(core);
  REQUIRE(again.transmits.size() == 1);
  CHECK(again.transmits[0].path == 0);
  CHECK(sequence_of(again.transmits[0].frame) == 1);
  auto done = core.on_reply(0, ack(1), h.now);
  REQUIRE(done.outcomes.size() == 1);
  CHECK(done.outcomes[0].kind == LinkCore::Outcome::Kind::delivered);
  CHECK(done.outcomes[0].attempts == 5);
  REQUIRE(done.path_changes.size() == 1);
  CHECK(done.path_changes[0].up);
  REQUIRE(done.transmits.size() == 1);  // then the message that waited
  CHECK(sequence_of(done.transmits[0].frame) == 2);
}

TEST_CASE("dc09 link moves to the backup when the primary's transport fails, and prefers it while the primary is down",
          "[dc09]") {
  Harness h;
  h.settings.attempts_per_path = 1;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  auto a = core.on_transport_error(0, "connect: Connection refused", h.now);
  REQUIRE(a.transmits.size() == 1);
  CHECK(a.transmits[0].path == 1);
  CHECK(sequence_of(a.transmits[0].frame) == 1);
  auto b = core.on_reply(1, ack(1), h.now);
  CHECK(b.outcomes.at(0).path == 1);
  auto c = core.enqueue({2, "ADM-CID", "b"}, h.now);
  REQUIRE(c.transmits.size() == 1);
  CHECK(c.transmits[0].path == 1);  // primary is down: no time wasted on it
  core.on_reply(1, ack(2), h.now);
  h.advance(10000ms);  // the primary's down period is over: it gets a chance again
  auto d = core.enqueue({3, "ADM-CID", "c"}, h.now);
  REQUIRE(d.transmits.size() == 1);
  CHECK(d.transmits[0].path == 0);
}

TEST_CASE("dc09 link adopts the receiver's time from a NAK and retries at once", "[dc09]") {
  Harness h;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "#1234|1101 01 002"}, h.now);
  auto a = core.on_reply(0, nak(kStart + 3600s), h.now);  // receiver runs an hour ahead
  REQUIRE(a.transmits.size() == 1);
  CHECK(a.transmits[0].path == 0);
  CHECK(sequence_of(a.transmits[0].frame) == 1);
  CHECK(a.transmits[0].frame.find("_23:00:00,11-24-2026") != std::string::npos);
  CHECK(core.time_offset(0) == 3600s);
  CHECK(core.time_offset(1) == 0s);  // the backup's receiver has its own clock
  // A stray reply with nothing outstanding changes nothing.
  core.on_reply(0, ack(1), h.now);
  CHECK(core.on_reply(0, nak(std::nullopt), h.now).transmits.empty());
}

TEST_CASE("dc09 link ignores an ACK for another sequence or account", "[dc09]") {
  Harness h;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  CHECK(core.on_reply(0, ack(2), h.now).outcomes.empty());
  CHECK(core.on_reply(0, ack(1, "9999"), h.now).outcomes.empty());
  CHECK(core.on_reply(0, make_error("CRC mismatch"), h.now).outcomes.empty());
  CHECK(core.on_reply(0, ack(1), h.now).outcomes.size() == 1);
}

TEST_CASE("dc09 link: DUH moves to the next path, DUH everywhere rejects the message and goes on", "[dc09]") {
  Harness h;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  core.enqueue({2, "ADM-CID", "b"}, h.now);
  auto a = core.on_reply(0, duh(), h.now);
  REQUIRE(a.transmits.size() == 1);
  CHECK(a.transmits[0].path == 1);
  CHECK(a.path_changes.empty());  // a DUH proves the receiver is there
  auto b = core.on_reply(1, duh(), h.now);
  REQUIRE(b.outcomes.size() == 1);
  CHECK(b.outcomes[0].kind == LinkCore::Outcome::Kind::rejected);
  CHECK(b.outcomes[0].id == 1);
  REQUIRE(b.transmits.size() == 1);
  CHECK(sequence_of(b.transmits[0].frame) == 2);
}

TEST_CASE("dc09 link supervision: NULL on each path, a silent path goes down and comes back", "[dc09]") {
  Harness h(2, 60000ms);
  LinkCore core(h.settings, pad);
  auto start = core.on_time(h.now);
  REQUIRE(start.transmits.size() == 2);
  CHECK(start.transmits[0].supervision);
  CHECK(start.transmits[0].frame.find("\"NULL\"0001R0L0#1234[]_") != std::string::npos);
  CHECK(start.transmits[1].frame.find("\"NULL\"0002") != std::string::npos);
  core.on_reply(0, ack(1), h.now);
  core.on_reply(1, nak(std::nullopt), h.now);  // a NAK to a NULL still proves the path
  // Next round: path 1 stays silent, twice -> down.
  std::vector<LinkCore::PathChange> changes;
  for (int i = 0; i < 6 && changes.empty(); ++i) {
    auto a = h.wake(core);
    for (auto& t : a.transmits)
      if (t.path == 0) core.on_reply(0, ack(sequence_of(t.frame)), h.now);
    changes = a.path_changes;
  }
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].path == 1);
  CHECK_FALSE(changes[0].up);
  CHECK(core.path_up(0));
  // The down path is probed again; an answer brings it up.
  for (int i = 0; i < 6; ++i) {
    auto a = h.wake(core);
    bool answered = false;
    for (auto& t : a.transmits) {
      auto r = core.on_reply(t.path, ack(sequence_of(t.frame)), h.now);
      if (t.path == 1) {
        REQUIRE(r.path_changes.size() == 1);
        CHECK(r.path_changes[0].up);
        answered = true;
      }
    }
    if (answered) break;
  }
  CHECK(core.path_up(1));
}

TEST_CASE("dc09 link sequence numbers wrap from 9999 to 0001", "[dc09]") {
  Harness h(1);
  LinkCore core(h.settings, pad, 9999);
  CHECK(sequence_of(core.enqueue({1, "ADM-CID", "a"}, h.now).transmits.at(0).frame) == 9999);
  CHECK(core.on_reply(0, ack(9999), h.now).outcomes.size() == 1);
  CHECK(sequence_of(core.enqueue({2, "ADM-CID", "b"}, h.now).transmits.at(0).frame) == 1);
}

TEST_CASE("dc09 link: a round that starts on the backup still tries the primary before reporting failure", "[dc09]") {
  Harness h;
  h.settings.attempts_per_path = 1;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  core.on_transport_error(0, "refused", h.now);  // primary down; the backup takes it
  REQUIRE(core.on_reply(1, ack(1), h.now).outcomes.size() == 1);
  auto a = core.enqueue({2, "ADM-CID", "b"}, h.now);
  REQUIRE(a.transmits.size() == 1);
  CHECK(a.transmits[0].path == 1);
  auto b = core.on_transport_error(1, "refused", h.now);
  REQUIRE(b.transmits.size() == 1);
  CHECK(b.transmits[0].path == 0);  // the primary gets its chance in this round
  CHECK(sequence_of(b.transmits[0].frame) == 2);
  CHECK(b.outcomes.empty());
  auto c = core.on_transport_error(0, "refused", h.now);
  REQUIRE(c.outcomes.size() == 1);
  CHECK(c.outcomes[0].kind == LinkCore::Outcome::Kind::failed);
  CHECK(c.outcomes[0].attempts == 2);
}

TEST_CASE("dc09 link: a message waiting for its path's NULL answer does not ask to be woken in the past", "[dc09]") {
  Harness h(2, 60000ms);
  LinkCore core(h.settings, pad);
  REQUIRE(core.on_time(h.now).transmits.size() == 2);  // a NULL on each path
  auto a = core.enqueue({1, "ADM-CID", "a"}, h.now);
  CHECK(a.transmits.empty());  // the primary is busy with its NULL
  REQUIRE(core.next_wakeup());
  CHECK(*core.next_wakeup() > h.now.steady);  // woken by the NULL's deadline, not spinning
  auto b = core.on_reply(0, ack(1), h.now);   // the NULL's answer frees the path
  REQUIRE(b.transmits.size() == 1);
  CHECK(b.transmits[0].path == 0);
  CHECK_FALSE(b.transmits[0].supervision);
}

TEST_CASE("dc09 link: a late ACK for an earlier try counts as delivery, and stops the retry elsewhere", "[dc09]") {
  Harness h;
  h.settings.attempts_per_path = 1;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  auto moved = h.wake(core);  // the primary's try times out; the backup gets the same sequence
  REQUIRE(moved.transmits.size() == 1);
  CHECK(moved.transmits[0].path == 1);
  auto late = core.on_reply(0, ack(sequence_of(moved.transmits[0].frame)), h.now);
  REQUIRE(late.outcomes.size() == 1);
  CHECK(late.outcomes[0].kind == LinkCore::Outcome::Kind::delivered);
  CHECK(late.outcomes[0].path == 0);
  CHECK_FALSE(core.busy(1));
  CHECK(core.on_reply(1, ack(1), h.now).outcomes.empty());  // the backup's own ACK changes nothing
}

TEST_CASE("dc09 link: a NAK or DUH naming another sequence is ignored", "[dc09]") {
  Harness h;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  Reply stray;
  stray.kind = Reply::Kind::duh;
  stray.sequence = 7;
  CHECK(core.on_reply(0, stray, h.now).transmits.empty());
  CHECK(core.busy(0));
  CHECK(core.on_reply(0, ack(1), h.now).outcomes.size() == 1);
}

TEST_CASE("dc09 link: a reused connection closed by the receiver costs one free retry, not a failed attempt",
          "[dc09]") {
  Harness h(1);
  h.settings.attempts_per_path = 1;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  auto again = core.on_transport_error(0, "connection closed by the receiver", h.now, true);
  REQUIRE(again.transmits.size() == 1);  // at once, same sequence
  CHECK(sequence_of(again.transmits[0].frame) == 1);
  CHECK(again.outcomes.empty());
  CHECK(again.path_changes.empty());
  // Only once per message: the next close is a real failure.
  auto failed = core.on_transport_error(0, "connection closed by the receiver", h.now, true);
  REQUIRE(failed.outcomes.size() == 1);
  CHECK(failed.outcomes[0].kind == LinkCore::Outcome::Kind::failed);
}

TEST_CASE("dc09 link: a NAK without a timestamp is a refusal: the next path, then rejected, not retried", "[dc09]") {
  Harness h;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  core.enqueue({2, "ADM-CID", "b"}, h.now);
  auto a = core.on_reply(0, nak(std::nullopt), h.now);
  CHECK(a.outcomes.empty());
  REQUIRE(a.transmits.size() == 1);
  CHECK(a.transmits[0].path == 1);  // not the same receiver again: it refused the message, not its time
  CHECK(sequence_of(a.transmits[0].frame) == 1);
  CHECK(a.path_changes.empty());  // the receiver is there
  CHECK(core.time_offset(0) == 0s);
  auto b = core.on_reply(1, nak(std::nullopt), h.now);
  REQUIRE(b.outcomes.size() == 1);
  CHECK(b.outcomes[0].kind == LinkCore::Outcome::Kind::rejected);
  CHECK(b.outcomes[0].id == 1);
  CHECK(b.outcomes[0].attempts == 2);
  CHECK(b.outcomes[0].detail.find("NAK without a timestamp") != std::string::npos);
  REQUIRE(b.transmits.size() == 1);  // the queue goes on
  CHECK(sequence_of(b.transmits[0].frame) == 2);
}

TEST_CASE("dc09 link: a timestamp NAK again after resending on the receiver's clock is a refusal", "[dc09]") {
  Harness h(1);
  h.settings.attempts_per_path = 5;
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  auto a = core.on_reply(0, nak(kStart + 3600s), h.now);  // a real clock problem: resend on its time
  REQUIRE(a.transmits.size() == 1);
  CHECK(a.transmits[0].frame.find("_23:00:00,11-24-2026") != std::string::npos);
  h.advance(1000ms);
  // The resend carried the receiver's own time, and it still says NAK: the
  // timestamp is not what it objects to (iobroker.sia NAKs an unknown account
  // this way), so sending it again cannot help.
  auto b = core.on_reply(0, nak(kStart + 3601s), h.now);
  CHECK(b.transmits.empty());
  REQUIRE(b.outcomes.size() == 1);
  CHECK(b.outcomes[0].kind == LinkCore::Outcome::Kind::rejected);
  CHECK(b.outcomes[0].attempts == 2);
  CHECK(b.outcomes[0].detail.find("refuses the message") != std::string::npos);
  CHECK(core.queued() == 0);
}

TEST_CASE("dc09 link: with AES, a plaintext ACK is a failed attempt, not delivery", "[dc09]") {
  Harness h;
  h.settings.attempts_per_path = 1;
  h.settings.key = Key(16, 0x11);
  LinkCore core(h.settings, pad);
  core.enqueue({1, "ADM-CID", "a"}, h.now);
  auto a = core.on_reply(0, ack(1), h.now);  // no '*': not the receiver that holds our key
  CHECK(a.outcomes.empty());
  REQUIRE(a.transmits.size() == 1);
  CHECK(a.transmits[0].path == 1);  // fails over as for no reply
  CHECK(sequence_of(a.transmits[0].frame) == 1);
  REQUIRE(a.path_changes.size() == 1);
  CHECK_FALSE(a.path_changes[0].up);
  CHECK(std::any_of(a.notes.begin(), a.notes.end(),
                    [](const std::string& n) { return n.find("plaintext ACK") != std::string::npos; }));
  CHECK(core.queued() == 1);
  // A late plaintext ACK for the first try is no delivery either.
  CHECK(core.on_reply(0, ack(1), h.now).outcomes.empty());
  auto b = core.on_reply(1, ack(1, "1234", true), h.now);
  REQUIRE(b.outcomes.size() == 1);
  CHECK(b.outcomes[0].kind == LinkCore::Outcome::Kind::delivered);
  CHECK(b.outcomes[0].path == 1);
}
