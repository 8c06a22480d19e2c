#include <catch2/catch.hpp>
#include <fstream>

#include "eg/gateway/store.hpp"
#include "temp_dir.hpp"

using eg::gateway::Store;
using eg::gateway::StoreError;

TEST_CASE("store: sequence numbers survive reopening", "[gateway][store]") {
  eg::test::TempDir dir;
  const std::string path = dir.file("gateway.db");
  {
    Store store(path);
    CHECK(store.last_sequence() == 0);
    store.append_event(1, "id-1", "payload-1", eg::WallTime{});
    store.append_event(2, "id-2", "payload-2", eg::WallTime{});
    store.mark_delivered(1);
    store.flush();
  }
  Store reopened(path);
  CHECK(reopened.last_sequence() == 2);
  CHECK(reopened.undelivered_count() == 1);
}

TEST_CASE("store: dead letters keep the raw bytes, topic and reason", "[gateway][store]") {
  eg::test::TempDir dir;
  Store store(dir.file("gateway.db"));
  std::string raw("{\"gas\": tru\0\xff", 13);
  store.add_dead_letter({"zigbee2mqtt/gas", raw, "malformed: invalid JSON", eg::WallTime{std::chrono::seconds(5)}});
  store.flush();
  auto letters = store.dead_letters(10);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].topic == "zigbee2mqtt/gas");
  CHECK(letters[0].payload == raw);
  CHECK(letters[0].reason == "malformed: invalid JSON");
  CHECK(letters[0].received == eg::WallTime{std::chrono::seconds(5)});
}

TEST_CASE("store: a corrupt database file is a clear error naming the file", "[gateway][store]") {
  eg::test::TempDir dir;
  const std::string path = dir.file("gateway.db");
  std::ofstream(path) << std::string(8192, 'x');
  try {
    Store store(path);
    FAIL("a corrupt file was accepted");
  } catch (const StoreError& error) {
    CHECK(std::string(error.what()).starts_with(path + ": "));
  }
}

TEST_CASE("store: an unwritable location is a clear error", "[gateway][store]") {
  CHECK_THROWS_AS(Store("/nonexistent-dir/gateway.db"), StoreError);
}

TEST_CASE("store: events and alert transitions share one outbox, re-readable from a sequence", "[gateway][store]") {
  eg::test::TempDir dir;
  Store store(dir.file("gateway.db"));
  store.append_event(1, "e-1", "event-1", eg::WallTime{});
  store.append_event(2, "a-1", "transition-1", eg::WallTime{}, "alert");
  store.append_event(3, "e-2", "event-2", eg::WallTime{});
  store.mark_delivered(1);
  store.flush();
  auto rows = store.rows_from(2, 10);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].sequence == 2);
  CHECK(rows[0].leaf == "alert");
  CHECK(rows[0].payload == "transition-1");
  CHECK_FALSE(rows[0].delivered);
  CHECK(rows[1].leaf == "event");
  CHECK(store.rows_from(1, 1).at(0).delivered);
}

TEST_CASE("store: the rule engine's state is saved and loaded whole", "[gateway][store]") {
  eg::test::TempDir dir;
  {
    Store store(dir.file("gateway.db"));
    CHECK_FALSE(store.load_engine_state().has_value());
    store.save_engine_state("{\"version\":1}");
    store.save_engine_state("{\"version\":1,\"alerts\":[]}");
    store.flush();
  }
  Store reopened(dir.file("gateway.db"));
  CHECK(reopened.load_engine_state() == std::optional<std::string>("{\"version\":1,\"alerts\":[]}"));
}

TEST_CASE("store: operator messages wait in order until removed, across reopening", "[gateway][store]") {
  eg::test::TempDir dir;
  const std::string path = dir.file("gateway.db");
  std::int64_t first = 0, second = 0;
  {
    Store store(path);
    first = store.add_operator_message(R"({"kind":"alarm"})", std::string("\x0a\x01\x00z", 4));
    second = store.add_operator_message(R"({"kind":"restore"})", "alert-2");
    store.flush();
  }
  Store store(path);
  auto waiting = store.operator_messages();
  REQUIRE(waiting.size() == 2);
  CHECK(waiting[0].id == first);
  CHECK(waiting[0].meta == R"({"kind":"alarm"})");
  CHECK(waiting[0].alert == std::string("\x0a\x01\x00z", 4));  // binary-safe
  CHECK(waiting[1].id == second);
  store.remove_operator_message(first);
  store.flush();
  waiting = store.operator_messages();
  REQUIRE(waiting.size() == 1);
  CHECK(waiting[0].meta == R"({"kind":"restore"})");
}

TEST_CASE("store: engine rows are upserted and deleted one by one, across reopening", "[gateway][store]") {
  using Row = eg::rules::StateRow;
  eg::test::TempDir dir;
  const std::string path = dir.file("gateway.db");
  {
    Store store(path);
    store.save_engine_rows({{Row::Table::kTracker, "fall", "ann", R"({"a":1})"},
                            {Row::Table::kTracker, "fall", "bob", R"({"b":1})"},
                            {Row::Table::kAlert, "fall", "ann", R"({"alert":1})"}});
    store.flush();
    // One change: bob's tracker goes, ann's is updated; nothing else is rewritten.
    store.save_engine_rows({{Row::Table::kTracker, "fall", "bob", ""}, {Row::Table::kTracker, "fall", "ann", "{}"}});
    store.flush();
  }
  Store reopened(path);
  auto rows = reopened.load_engine_rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].table == Row::Table::kTracker);
  CHECK(rows[0].subject == "ann");
  CHECK(rows[0].state == "{}");
  CHECK(rows[1].table == Row::Table::kAlert);
}

TEST_CASE("store: a rolled-back group leaves nothing, and the backlog count follows it", "[gateway][store]") {
  eg::test::TempDir dir;
  Store store(dir.file("gateway.db"));
  store.append_event(1, "id-1", "p", eg::WallTime{});
  store.flush();
  CHECK(store.undelivered_count() == 1);
  store.append_event(2, "id-2", "p", eg::WallTime{}, "event", false, 42);
  CHECK(store.undelivered_count() == 2);
  store.rollback();
  CHECK(store.undelivered_count() == 1);
  CHECK(store.last_sequence() == 1);
  CHECK(store.recent_source_keys(10).empty());
  store.append_event(2, "id-2", "p", eg::WallTime{}, "event", false, 42);  // the same number again: no hole
  store.flush();
  CHECK(store.recent_source_keys(10) == std::vector<std::int64_t>{42});
}

TEST_CASE("store: dead letters are pruned by count and by age", "[gateway][store]") {
  eg::test::TempDir dir;
  Store store(dir.file("gateway.db"));
  for (int i = 0; i < 20; ++i)
    store.add_dead_letter({"t/" + std::to_string(i), "x", "malformed", eg::WallTime{std::chrono::seconds(i)}});
  store.flush();
  CHECK(store.prune_dead_letters(10, eg::WallTime{std::chrono::seconds(5)}) == 10);
  auto letters = store.dead_letters(100);
  REQUIRE(letters.size() == 10);
  CHECK(letters.front().topic == "t/10");
  CHECK(store.prune_dead_letters(100, eg::WallTime{std::chrono::seconds(15)}) == 5);
  CHECK(store.dead_letters(100).size() == 5);
}
