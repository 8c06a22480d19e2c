// The gateway's SQLite store: events (the upstream outbox), dead letters for
// undecodable messages, and schema versioning. One writer: the loop thread.
// Writes are grouped into one transaction until flush(), so throughput does not
// pay one fsync per message. Failures throw StoreError; callers at the loop's
// edge count and log them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eg/common/clock.hpp"
#include "eg/rules/engine.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace eg::gateway {

class StoreError : public std::runtime_error {
 public:
  explicit StoreError(const std::string& what, int sqlite_code = 0)
      : std::runtime_error(what), sqlite_code_(sqlite_code) {}
  // The file is not a database, or a damaged one (SQLITE_NOTADB, SQLITE_CORRUPT):
  // set it aside and start afresh rather than never start.
  bool corrupt() const;
  int sqlite_code() const { return sqlite_code_; }

 private:
  int sqlite_code_;
};

// One upstream message in the outbox: a SensorEvent ("event") or an
// AlertTransition ("alert"), in the gateway's one sequence space.
struct OutboxRow {
  std::uint64_t sequence;
  std::string leaf;     // upstream topic leaf: "event" or "alert"
  std::string payload;  // serialized protobuf
  bool delivered;
};

// A message for the emergency operator's receiver, waiting for its ACK: kept
// so a restart re-sends it. `meta` is the link's own description (JSON),
// `alert` the serialized Alert it is about.
struct StoredOperatorMessage {
  std::int64_t id = 0;
  std::string meta;
  std::string alert;
};

struct DeadLetter {
  std::string topic;
  std::string payload;  // raw bytes as received
  std::string reason;
  WallTime received;
};

class Store {
 public:
  // Opens or creates the database; migrates it to the current schema. Throws
  // StoreError naming the file when it is unreadable, corrupt or newer than us.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  static constexpr int kSchemaVersion = 5;

  // Highest sequence ever stored (0 for a new database).
  std::uint64_t last_sequence();
  // `leaf` names the upstream message type: "event" (SensorEvent, the
  // default) or "alert" (AlertTransition, kept as the alerts' audit trail).
  // `routine`: a reading that may be dropped, oldest first, to keep the store
  // under its size cap (vitals, presence); alerts and safety events never are.
  // `source_key`: identity of the broker message it came from, to recognise
  // a redelivered copy (recent_source_keys).
  void append_event(std::uint64_t sequence, std::string_view event_id, std::string_view payload, WallTime received,
                    std::string_view leaf = "event", bool routine = false,
                    std::optional<std::int64_t> source_key = std::nullopt);
  // Source keys of the last `rows` rows, oldest first.
  std::vector<std::int64_t> recent_source_keys(std::size_t rows);
  // Undelivered rows of one lane (`leaf`) with after < sequence <= up_to, in
  // sequence order, at most `limit`: the upstream drain reads the outbox here.
  std::vector<OutboxRow> undelivered(std::string_view leaf, std::uint64_t after, std::uint64_t up_to,
                                     std::size_t limit);
  // Receive time of the oldest undelivered row, if any.
  std::optional<WallTime> oldest_undelivered();
  // Rows with sequence >= from, in order, at most `limit` (re-send on request).
  std::vector<OutboxRow> rows_from(std::uint64_t from, std::size_t limit);
  // The rule engine's state: the rows it changed, in the current group.
  void save_engine_rows(const std::vector<rules::StateRow>& rows);
  std::vector<rules::StateRow> load_engine_rows();
  // Every row afresh (after a lost group, whose changes are unknown).
  void replace_engine_rows(const std::vector<rules::StateRow>& rows);
  // Whole-state snapshot of gateways before schema 5, read once to migrate.
  void save_engine_state(std::string_view snapshot);
  std::optional<std::string> load_engine_state();
  void delete_engine_snapshot();
  void mark_delivered(std::uint64_t sequence);
  // The platform asked for everything from `sequence` again.
  void mark_undelivered_from(std::uint64_t sequence);
  // Kept in memory (counted once), so asking is free.
  std::uint64_t undelivered_count();
  // Operator (DC-09) messages not yet acknowledged by a receiver, oldest first.
  std::int64_t add_operator_message(std::string_view meta, std::string_view alert);
  void remove_operator_message(std::int64_t id);
  std::vector<StoredOperatorMessage> operator_messages();

  void add_dead_letter(const DeadLetter& letter);
  // Keeps the newest `keep` dead letters and none older than `cutoff`.
  std::uint64_t prune_dead_letters(std::size_t keep, WallTime cutoff);
  std::vector<DeadLetter> dead_letters(std::size_t limit);

  // Commits the open write transaction, if any, fsynced (synchronous=FULL):
  // once committed, a row survives a crash of the process and power loss.
  void flush();
  // Ends a group whose write or commit failed: nothing of it is kept.
  void rollback();
  // A small write and commit; throws StoreError while the database cannot take writes.
  void probe();
  static constexpr std::uint64_t kProbeMinFreeBytes = 1024 * 1024;

  // --- size and retention ---
  // Bytes in use by live pages (the file keeps freed pages for reuse).
  std::uint64_t used_bytes();
  struct Dropped {
    std::uint64_t delivered = 0;
    std::uint64_t undelivered = 0;
  };
  // Deletes up to `rows` of the oldest routine rows, delivered ones first.
  Dropped drop_oldest_routine(std::size_t rows);
  // Deletes delivered rows received before `cutoff`; returns how many.
  std::uint64_t delete_delivered_before(WallTime cutoff);
  // Persistent counters (e.g. "dropped_events"), so GatewayStatus survives restarts.
  void add_to_counter(std::string_view name, std::uint64_t delta);
  std::uint64_t counter(std::string_view name);
  bool has_pending_writes() const { return in_transaction_; }

 private:
  struct StatementDeleter {
    void operator()(sqlite3_stmt* s) const;
  };
  using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;
  struct DatabaseDeleter {
    void operator()(sqlite3* db) const;
  };

  void exec(const char* sql);
  Statement prepare(const char* sql);
  void begin_if_needed();
  void step_done(sqlite3_stmt* statement);
  [[noreturn]] void fail(const std::string& what);
  void migrate();
  std::uint64_t count_undelivered();
  void adjust_undelivered(std::int64_t delta);

  std::string path_;
  std::unique_ptr<sqlite3, DatabaseDeleter> db_;
  bool in_transaction_ = false;
  Statement insert_event_;
  Statement mark_delivered_;
  Statement insert_dead_letter_;
  Statement save_engine_state_;
  Statement select_undelivered_;
  Statement upsert_tracker_, delete_tracker_, upsert_alert_, delete_alert_;
  std::optional<std::uint64_t> undelivered_;            // including the open group
  std::optional<std::uint64_t> committed_undelivered_;  // as of the last commit
};

}  // namespace eg::gateway
