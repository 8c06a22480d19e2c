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
