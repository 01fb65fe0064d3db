#include "alarm_index.hpp"

#include <system_error>

#include <cairn/errors.hpp>

namespace cairn::detail {

namespace {
[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw storage_error(storage_error::reason::io, "cairn: alarm index: " + what + ": " + sqlite3_errmsg(db));
}
}  // namespace

alarm_index::alarm_index(const std::filesystem::path& data_dir, durability mode)
    : data_dir_(data_dir), mode_(mode) {}

void alarm_index::open() {
  if (db_) return;
  const auto& data_dir = data_dir_;
  const auto mode = mode_;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw storage_error(storage_error::reason::io, "cairn: cannot create " + data_dir.string() + ": " + ec.message());
  auto path = data_dir / ".cairn-alarms.sqlite";
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw storage_error(storage_error::reason::io, "cairn: cannot open " + path.string() + ": " + msg);
  }
  const char* sync = mode == durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  for (const char* sql : {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=WAL", sync,
                          "CREATE TABLE IF NOT EXISTS alarms(ns TEXT NOT NULL, id TEXT NOT NULL, at_ms INTEGER NOT "
                          "NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID"}) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::string msg = "cairn: cannot use " + path.string() + ": " + sqlite3_errmsg(db_);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw storage_error(storage_error::reason::io, msg);
    }
  }
}

alarm_index::~alarm_index() { sqlite3_close_v2(db_); }

std::vector<alarm_index::entry> alarm_index::load() {
  std::lock_guard lock(mutex_);
  std::error_code ec;
  if (!std::filesystem::exists(data_dir_ / ".cairn-alarms.sqlite", ec)) return {};  // no alarm was ever set
  open();
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT ns, id, at_ms FROM alarms", -1, &s, nullptr) != SQLITE_OK) fail(db_, "load");
  std::vector<entry> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    out.push_back({reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                   reinterpret_cast<const char*>(sqlite3_column_text(s, 1)), sqlite3_column_int64(s, 2)});
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) fail(db_, "load");
  return out;
}

void alarm_index::run(const std::vector<entry>& entries, const char* sql, bool with_time) {
  std::lock_guard lock(mutex_);
  open();
  if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) fail(db_, "begin");
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    fail(db_, "prepare");
  }
  for (auto& e : entries) {
    sqlite3_bind_text(s, 1, e.ns.data(), static_cast<int>(e.ns.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, e.value_hex.data(), static_cast<int>(e.value_hex.size()), SQLITE_STATIC);
    if (with_time) sqlite3_bind_int64(s, 3, e.at_ms);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      sqlite3_finalize(s);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      fail(db_, "write");
    }
  }
  sqlite3_finalize(s);
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    fail(db_, "commit");
  }
}

void alarm_index::upsert(const std::vector<entry>& entries) {
  run(entries, "INSERT OR REPLACE INTO alarms(ns, id, at_ms) VALUES (?, ?, ?)", true);
}

void alarm_index::remove(const std::vector<entry>& entries) {
  run(entries, "DELETE FROM alarms WHERE ns = ? AND id = ?", false);
}

}  // namespace cairn::detail
