#include "eg/gateway/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

namespace eg::gateway {
namespace {

std::int64_t to_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Schema changes are appended here, never edited: migration k takes version k-1 to k.
constexpr const char* kMigrations[] = {
    R"sql(
    CREATE TABLE events (
      sequence    INTEGER PRIMARY KEY,
      event_id    TEXT NOT NULL UNIQUE,
      payload     BLOB NOT NULL,
      received_ms INTEGER NOT NULL,
      delivered   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX events_undelivered ON events(delivered, sequence);
    CREATE TABLE dead_letters (
      id          INTEGER PRIMARY KEY,
      topic       TEXT NOT NULL,
      payload     BLOB NOT NULL,
      reason      TEXT NOT NULL,
      received_ms INTEGER NOT NULL
    );
    )sql",
    // 2: alert transitions share the outbox (and the sequence space) with
    // events, told apart by their upstream topic leaf; the rule engine's state.
    R"sql(
    ALTER TABLE events ADD COLUMN leaf TEXT NOT NULL DEFAULT 'event';
    CREATE TABLE engine_state (
      id       INTEGER PRIMARY KEY CHECK (id = 1),
      snapshot TEXT NOT NULL
    );
    )sql",
    // 3: routine readings may be dropped under the size cap; counters.
    R"sql(
    ALTER TABLE events ADD COLUMN routine INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX events_routine ON events(routine, delivered, sequence);
    CREATE TABLE counters (
      name  TEXT PRIMARY KEY,
      value INTEGER NOT NULL
    );
    )sql",
    // 4: messages for the emergency operator's receiver, until it ACKs them.
    R"sql(
    CREATE TABLE operator_outbox (
      id    INTEGER PRIMARY KEY,
      meta  TEXT NOT NULL,
      alert BLOB NOT NULL
    );
    )sql",
    // 5: the rule engine's state as one row per tracker and per active alert,
    // written as they change (not a snapshot of everything per save); the
    // outbox index leads with the lane, so the alert lane never walks the
    // event backlog; the source key of each ingested message, to recognise a
    // copy the broker delivers again after a crash.
    R"sql(
    CREATE TABLE engine_trackers (
      rule    TEXT NOT NULL,
      subject TEXT NOT NULL,
      state   TEXT NOT NULL,
      PRIMARY KEY (rule, subject)
    ) WITHOUT ROWID;
    CREATE TABLE engine_alerts (
      rule    TEXT NOT NULL,
      subject TEXT NOT NULL,
      state   TEXT NOT NULL,
      PRIMARY KEY (rule, subject)
    ) WITHOUT ROWID;
    DROP INDEX events_undelivered;
    CREATE INDEX events_outbox ON events(delivered, leaf, sequence);
    ALTER TABLE events ADD COLUMN source_key INTEGER;
    )sql",
};

}  // namespace

void Store::StatementDeleter::operator()(sqlite3_stmt* s) const {
  sqlite3_finalize(s);
}
void Store::DatabaseDeleter::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

Store::Store(const std::string& path) : path_(path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);
  if (rc != SQLITE_OK) fail("cannot open database");
  sqlite3_busy_timeout(db_.get(), 2000);
  // WAL: readers never block the writer. FULL sync: every (group) commit is
  // fsynced, so what we acknowledged to the broker or published upstream
  // survives power loss too; group commits keep that to one fsync per group,
  // not per message (docs/durability.md).
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
  migrate();
  insert_event_ = prepare(
      "INSERT INTO events(sequence, event_id, payload, received_ms, leaf, routine, source_key) VALUES(?,?,?,?,?,?,?)");
  upsert_tracker_ = prepare("INSERT OR REPLACE INTO engine_trackers(rule, subject, state) VALUES(?,?,?)");
  delete_tracker_ = prepare("DELETE FROM engine_trackers WHERE rule = ? AND subject = ?");
  upsert_alert_ = prepare("INSERT OR REPLACE INTO engine_alerts(rule, subject, state) VALUES(?,?,?)");
  delete_alert_ = prepare("DELETE FROM engine_alerts WHERE rule = ? AND subject = ?");
  select_undelivered_ = prepare(
      "SELECT sequence, leaf, payload FROM events WHERE delivered = 0 AND leaf = ? AND sequence > ? AND sequence <= ? "
      "ORDER BY sequence LIMIT ?");
  save_engine_state_ = prepare("INSERT OR REPLACE INTO engine_state(id, snapshot) VALUES(1, ?)");
  mark_delivered_ = prepare("UPDATE events SET delivered=1 WHERE sequence=?");
  insert_dead_letter_ = prepare("INSERT INTO dead_letters(topic, payload, reason, received_ms) VALUES(?,?,?,?)");
}

Store::~Store() {
  try {
    flush();
  } catch (const StoreError&) {
    // Destruction during shutdown: the caller already logged the failure that
    // brought us here; an unflushed group is what a crash would lose too.
  }
}

void Store::fail(const std::string& what) {
  std::string detail = db_ ? sqlite3_errmsg(db_.get()) : "out of memory";
  throw StoreError(path_ + ": " + what + ": " + detail, db_ ? sqlite3_extended_errcode(db_.get()) : SQLITE_NOMEM);
}

bool StoreError::corrupt() const {
  const int primary = sqlite_code_ & 0xff;
  return primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT;
}

void Store::exec(const char* sql) {
  char* message = nullptr;
  if (int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message); rc != SQLITE_OK) {
    std::string detail = message ? message : "unknown error";
    sqlite3_free(message);
    throw StoreError(path_ + ": " + detail,
                     sqlite3_extended_errcode(db_.get()) ? sqlite3_extended_errcode(db_.get()) : rc);
  }
}

Store::Statement Store::prepare(const char* sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK)
    fail("cannot prepare statement");
  return Statement(statement);
}

void Store::migrate() {
  auto version_statement = prepare("PRAGMA user_version");
  if (sqlite3_step(version_statement.get()) != SQLITE_ROW) fail("cannot read schema version");
  int version = sqlite3_column_int(version_statement.get(), 0);
  version_statement.reset();  // an open statement would lock the tables a migration drops or alters
  if (version > kSchemaVersion)
    throw StoreError(path_ + ": schema version " + std::to_string(version) + " is newer than this gateway's " +
                     std::to_string(kSchemaVersion));
  for (int next = version + 1; next <= kSchemaVersion; ++next) {
    exec("BEGIN IMMEDIATE");
    exec(kMigrations[next - 1]);
    exec(("PRAGMA user_version=" + std::to_string(next)).c_str());
    exec("COMMIT");
  }
}

void Store::begin_if_needed() {
  if (in_transaction_) return;
  exec("BEGIN IMMEDIATE");
  in_transaction_ = true;
}

void Store::step_done(sqlite3_stmt* statement) {
  int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  if (rc != SQLITE_DONE) fail("write failed");
}

void Store::flush() {
  if (!in_transaction_) return;
  try {
    exec("COMMIT");
  } catch (const StoreError&) {
    // A failed COMMIT (disk full, I/O error) may or may not have ended the
    // transaction; the caller must treat the whole group as lost and call
    // rollback(), which ends it either way.
    in_transaction_ = sqlite3_get_autocommit(db_.get()) == 0;
    throw;
  }
  in_transaction_ = false;
  committed_undelivered_ = undelivered_;
}

void Store::rollback() {
  if (sqlite3_get_autocommit(db_.get()) == 0) {
    // Best effort: SQLite may already have rolled back by itself (SQLITE_FULL
    // can end the transaction); either way nothing of the group remains.
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  in_transaction_ = false;
  undelivered_ = committed_undelivered_;
}

void Store::probe() {
  // A tiny write can fit in pages the WAL already has while the disk is still
  // full; ask for some room too, so the gateway does not flap between failed
  // and writable while nothing has been freed.
  std::error_code ec;
  auto directory = std::filesystem::path(path_).parent_path();
  auto space = std::filesystem::space(directory.empty() ? "." : directory, ec);
  if (!ec && space.available < kProbeMinFreeBytes)
    throw StoreError(path_ + ": only " + std::to_string(space.available) + " bytes free");
  begin_if_needed();
  add_to_counter("store_probes", 1);
  flush();
}

std::uint64_t Store::used_bytes() {
  auto pragma = [&](const char* sql) {
    auto statement = prepare(sql);
    if (sqlite3_step(statement.get()) != SQLITE_ROW) fail(std::string("cannot read ") + sql);
    return static_cast<std::uint64_t>(sqlite3_column_int64(statement.get(), 0));
  };
  std::uint64_t pages = pragma("PRAGMA page_count"), free_pages = pragma("PRAGMA freelist_count");
  return (pages - std::min(pages, free_pages)) * pragma("PRAGMA page_size");
}

Store::Dropped Store::drop_oldest_routine(std::size_t rows) {
  begin_if_needed();
  Dropped dropped;
  for (int delivered : {1, 0}) {
    std::uint64_t done = dropped.delivered + dropped.undelivered;
    if (done >= rows) break;
    auto statement = prepare(
        "DELETE FROM events WHERE sequence IN (SELECT sequence FROM events WHERE routine = 1 AND delivered = ? "
        "ORDER BY sequence LIMIT ?)");
    sqlite3_bind_int(statement.get(), 1, delivered);
    sqlite3_bind_int64(statement.get(), 2, static_cast<sqlite3_int64>(rows - done));
    step_done(statement.get());
    auto n = static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
    (delivered ? dropped.delivered : dropped.undelivered) += n;
    if (!delivered) adjust_undelivered(-static_cast<std::int64_t>(n));
  }
  return dropped;
}

std::uint64_t Store::delete_delivered_before(WallTime cutoff) {
  begin_if_needed();
  auto statement = prepare("DELETE FROM events WHERE delivered = 1 AND received_ms < ?");
  sqlite3_bind_int64(statement.get(), 1, to_ms(cutoff));
  step_done(statement.get());
  return static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
}

void Store::add_to_counter(std::string_view name, std::uint64_t delta) {
  begin_if_needed();
  auto statement = prepare(
      "INSERT INTO counters(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
  sqlite3_bind_text(statement.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  sqlite3_bind_int64(statement.get(), 2, static_cast<sqlite3_int64>(delta));
  step_done(statement.get());
}

std::uint64_t Store::counter(std::string_view name) {
  auto statement = prepare("SELECT value FROM counters WHERE name = ?");
  sqlite3_bind_text(statement.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  if (sqlite3_step(statement.get()) != SQLITE_ROW) return 0;
  return static_cast<std::uint64_t>(sqlite3_column_int64(statement.get(), 0));
}

std::uint64_t Store::last_sequence() {
  auto statement = prepare("SELECT COALESCE(MAX(sequence), 0) FROM events");
  if (sqlite3_step(statement.get()) != SQLITE_ROW) fail("cannot read last sequence");
  return static_cast<std::uint64_t>(sqlite3_column_int64(statement.get(), 0));
}

std::uint64_t Store::count_undelivered() {
  auto statement = prepare("SELECT COUNT(*) FROM events WHERE delivered=0");
  if (sqlite3_step(statement.get()) != SQLITE_ROW) fail("cannot count undelivered events");
  return static_cast<std::uint64_t>(sqlite3_column_int64(statement.get(), 0));
}

// Kept in memory and moved with every write, so /health and GatewayStatus
// do not count a million-row backlog each time they are asked.
std::uint64_t Store::undelivered_count() {
  if (!undelivered_) {
    undelivered_ = count_undelivered();
    if (!in_transaction_) committed_undelivered_ = undelivered_;
  }
  return *undelivered_;
}

void Store::adjust_undelivered(std::int64_t delta) {
  if (!undelivered_) return;  // counted afresh when next asked
  *undelivered_ =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(*undelivered_) + delta));
}

void Store::append_event(std::uint64_t sequence, std::string_view event_id, std::string_view payload, WallTime received,
                         std::string_view leaf, bool routine, std::optional<std::int64_t> source_key) {
  begin_if_needed();
  sqlite3_stmt* s = insert_event_.get();
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(sequence));
  sqlite3_bind_text(s, 2, event_id.data(), static_cast<int>(event_id.size()), SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, to_ms(received));
  sqlite3_bind_text(s, 5, leaf.data(), static_cast<int>(leaf.size()), SQLITE_STATIC);
  sqlite3_bind_int(s, 6, routine ? 1 : 0);
  if (source_key)
    sqlite3_bind_int64(s, 7, *source_key);
  else
    sqlite3_bind_null(s, 7);
  step_done(s);
  adjust_undelivered(1);
}

std::vector<std::int64_t> Store::recent_source_keys(std::size_t rows) {
  auto statement = prepare(
      "SELECT source_key FROM (SELECT sequence, source_key FROM events ORDER BY sequence DESC LIMIT ?) "
      "WHERE source_key IS NOT NULL ORDER BY sequence");
  sqlite3_bind_int64(statement.get(), 1, static_cast<sqlite3_int64>(rows));
  std::vector<std::int64_t> out;
  while (sqlite3_step(statement.get()) == SQLITE_ROW) out.push_back(sqlite3_column_int64(statement.get(), 0));
  return out;
}

std::vector<OutboxRow> Store::rows_from(std::uint64_t from, std::size_t limit) {
  auto statement =
      prepare("SELECT sequence, leaf, payload, delivered FROM events WHERE sequence >= ? ORDER BY sequence LIMIT ?");
  sqlite3_bind_int64(statement.get(), 1, static_cast<sqlite3_int64>(from));
  sqlite3_bind_int64(statement.get(), 2, static_cast<sqlite3_int64>(limit));
  std::vector<OutboxRow> out;
  while (sqlite3_step(statement.get()) == SQLITE_ROW) {
    auto* blob = static_cast<const char*>(sqlite3_column_blob(statement.get(), 2));
    out.push_back({static_cast<std::uint64_t>(sqlite3_column_int64(statement.get(), 0)),
                   reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 1)),
                   std::string(blob ? blob : "", static_cast<std::size_t>(sqlite3_column_bytes(statement.get(), 2))),
                   sqlite3_column_int(statement.get(), 3) != 0});
  }
  return out;
}

void Store::mark_undelivered_from(std::uint64_t sequence) {
  begin_if_needed();
  auto statement = prepare("UPDATE events SET delivered = 0 WHERE sequence >= ?");
  sqlite3_bind_int64(statement.get(), 1, static_cast<sqlite3_int64>(sequence));
  step_done(statement.get());
  undelivered_.reset();
}

std::vector<OutboxRow> Store::undelivered(std::string_view leaf, std::uint64_t after, std::uint64_t up_to,
                                          std::size_t limit) {
  sqlite3_stmt* s = select_undelivered_.get();
  sqlite3_bind_text(s, 1, leaf.data(), static_cast<int>(leaf.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(after));
  sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(up_to));
  sqlite3_bind_int64(s, 4, static_cast<sqlite3_int64>(limit));
  std::vector<OutboxRow> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    auto* blob = static_cast<const char*>(sqlite3_column_blob(s, 2));
    out.push_back({static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)), std::string(leaf),
                   std::string(blob ? blob : "", static_cast<std::size_t>(sqlite3_column_bytes(s, 2))), false});
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) fail("cannot read the outbox");
  return out;
}

std::optional<WallTime> Store::oldest_undelivered() {
  // The oldest row of each lane, through the outbox index: no backlog scan.
  std::optional<WallTime> oldest;
  for (const char* leaf : {"event", "alert"}) {
    auto statement =
        prepare("SELECT received_ms FROM events WHERE delivered = 0 AND leaf = ? ORDER BY sequence LIMIT 1");
    sqlite3_bind_text(statement.get(), 1, leaf, -1, SQLITE_STATIC);
    if (sqlite3_step(statement.get()) != SQLITE_ROW) continue;
    WallTime t{std::chrono::milliseconds{sqlite3_column_int64(statement.get(), 0)}};
    if (!oldest || t < *oldest) oldest = t;
  }
  return oldest;
}

void Store::save_engine_state(std::string_view snapshot) {
  begin_if_needed();
  sqlite3_bind_text(save_engine_state_.get(), 1, snapshot.data(), static_cast<int>(snapshot.size()), SQLITE_STATIC);
  step_done(save_engine_state_.get());
}

std::optional<std::string> Store::load_engine_state() {
  auto statement = prepare("SELECT snapshot FROM engine_state WHERE id = 1");
  if (sqlite3_step(statement.get()) != SQLITE_ROW) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 0)));
}

void Store::mark_delivered(std::uint64_t sequence) {
  begin_if_needed();
  sqlite3_bind_int64(mark_delivered_.get(), 1, static_cast<sqlite3_int64>(sequence));
  step_done(mark_delivered_.get());
  adjust_undelivered(-static_cast<std::int64_t>(sqlite3_changes(db_.get())));
}

void Store::save_engine_rows(const std::vector<rules::StateRow>& rows) {
  if (rows.empty()) return;
  begin_if_needed();
  for (const auto& row : rows) {
    const bool tracker = row.table == rules::StateRow::Table::kTracker;
    sqlite3_stmt* s = row.state.empty() ? (tracker ? delete_tracker_ : delete_alert_).get()
                                        : (tracker ? upsert_tracker_ : upsert_alert_).get();
    sqlite3_bind_text(s, 1, row.rule.data(), static_cast<int>(row.rule.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, row.subject.data(), static_cast<int>(row.subject.size()), SQLITE_STATIC);
    if (!row.state.empty())
      sqlite3_bind_text(s, 3, row.state.data(), static_cast<int>(row.state.size()), SQLITE_STATIC);
    step_done(s);
  }
}

std::vector<rules::StateRow> Store::load_engine_rows() {
  std::vector<rules::StateRow> rows;
  for (auto table : {rules::StateRow::Table::kTracker, rules::StateRow::Table::kAlert}) {
    auto statement =
        prepare(table == rules::StateRow::Table::kTracker ? "SELECT rule, subject, state FROM engine_trackers"
                                                          : "SELECT rule, subject, state FROM engine_alerts");
    int rc;
    while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW)
      rows.push_back({table, reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 0)),
                      reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 1)),
                      reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 2))});
    if (rc != SQLITE_DONE) fail("cannot read the rule engine's state");
  }
  return rows;
}

void Store::replace_engine_rows(const std::vector<rules::StateRow>& rows) {
  begin_if_needed();
  exec("DELETE FROM engine_trackers");
  exec("DELETE FROM engine_alerts");
  save_engine_rows(rows);
}

void Store::delete_engine_snapshot() {
  begin_if_needed();
  exec("DELETE FROM engine_state");
}

std::int64_t Store::add_operator_message(std::string_view meta, std::string_view alert) {
  begin_if_needed();
  auto statement = prepare("INSERT INTO operator_outbox(meta, alert) VALUES(?, ?)");
  sqlite3_bind_text(statement.get(), 1, meta.data(), static_cast<int>(meta.size()), SQLITE_STATIC);
  sqlite3_bind_blob(statement.get(), 2, alert.data(), static_cast<int>(alert.size()), SQLITE_STATIC);
  step_done(statement.get());
  return sqlite3_last_insert_rowid(db_.get());
}

void Store::remove_operator_message(std::int64_t id) {
  begin_if_needed();
  auto statement = prepare("DELETE FROM operator_outbox WHERE id = ?");
  sqlite3_bind_int64(statement.get(), 1, id);
  step_done(statement.get());
}

std::vector<StoredOperatorMessage> Store::operator_messages() {
  auto statement = prepare("SELECT id, meta, alert FROM operator_outbox ORDER BY id");
  std::vector<StoredOperatorMessage> out;
  int rc;
  while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
    StoredOperatorMessage m;
    m.id = sqlite3_column_int64(statement.get(), 0);
    m.meta = reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 1));
    auto blob = static_cast<const char*>(sqlite3_column_blob(statement.get(), 2));
    m.alert.assign(
        blob == nullptr ? "" : std::string(blob, static_cast<std::size_t>(sqlite3_column_bytes(statement.get(), 2))));
    out.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) fail("cannot read operator_outbox");
  return out;
}

void Store::add_dead_letter(const DeadLetter& letter) {
  begin_if_needed();
  sqlite3_stmt* s = insert_dead_letter_.get();
  sqlite3_bind_text(s, 1, letter.topic.data(), static_cast<int>(letter.topic.size()), SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, letter.payload.data(), static_cast<int>(letter.payload.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 3, letter.reason.data(), static_cast<int>(letter.reason.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, to_ms(letter.received));
  step_done(s);
}

std::uint64_t Store::prune_dead_letters(std::size_t keep, WallTime cutoff) {
  begin_if_needed();
  auto by_age = prepare("DELETE FROM dead_letters WHERE received_ms < ?");
  sqlite3_bind_int64(by_age.get(), 1, to_ms(cutoff));
  step_done(by_age.get());
  auto removed = static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
  auto by_count = prepare("DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?");
  sqlite3_bind_int64(by_count.get(), 1, static_cast<sqlite3_int64>(keep));
  step_done(by_count.get());
  return removed + static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
}

std::vector<DeadLetter> Store::dead_letters(std::size_t limit) {
  auto statement = prepare("SELECT topic, payload, reason, received_ms FROM dead_letters ORDER BY id LIMIT ?");
  sqlite3_bind_int64(statement.get(), 1, static_cast<sqlite3_int64>(limit));
  std::vector<DeadLetter> out;
  while (sqlite3_step(statement.get()) == SQLITE_ROW) {
    DeadLetter letter;
    letter.topic = reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 0));
    auto* blob = static_cast<const char*>(sqlite3_column_blob(statement.get(), 1));
    letter.payload.assign(blob ? blob : "", static_cast<std::size_t>(sqlite3_column_bytes(statement.get(), 1)));
    letter.reason = reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 2));
    letter.received = WallTime{std::chrono::milliseconds{sqlite3_column_int64(statement.get(), 3)}};
    out.push_back(std::move(letter));
  }
  return out;
}

}  // namespace eg::gateway
