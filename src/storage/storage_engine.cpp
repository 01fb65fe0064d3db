#include "storage/storage_engine.hpp"

#include <array>
#include <cstring>
#include <system_error>

#include <cairn/detail/namespace_state.hpp>
#include <cairn/detail/runtime_core.hpp>
#include <cairn/detail/shard.hpp>
#include <cairn/storage.hpp>
#include <cairn/detail/work_item.hpp>

#include "hex.hpp"
#include "storage/database_file.hpp"
#include "storage/exclusive_vfs.hpp"
#include "storage/logged_vfs.hpp"

namespace cairn::detail {

namespace {

using reason = storage_error::reason;

// Statement slots of the transaction control statements (run_internal());
// cairn's own queries follow them (see cached()).
enum slot : int {
  begin_txn,
  commit_txn,
  rollback_txn,
  savepoint_begin,
  savepoint_release,
  savepoint_rollback,
  slot_count_
};

bool starts_with_nocase(const char* s, std::string_view prefix) {
  if (!s) return false;
  for (char c : prefix) {
    if (*s == 0 || std::tolower(static_cast<unsigned char>(*s)) != c) return false;
    ++s;
  }
  return true;
}

// PRAGMAs that only read or only change the connection's own checking.
bool harmless_pragma(const char* name) {
  static constexpr std::array<std::string_view, 12> allowed = {
      "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo", "index_list",
      "foreign_key_list", "foreign_key_check", "foreign_keys", "quick_check", "integrity_check", "defer_foreign_keys"};
  if (!name) return false;
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto a : allowed)
    if (lower == a) return true;
  return false;
}

int authorize(void* ctx, int action, const char* a1, const char* a2, const char*, const char*) {
  auto* e = static_cast<storage_engine*>(ctx);
  if (!e->user_sql) return SQLITE_OK;
  auto refuse = [&](std::string why) {
    e->refusal = std::move(why);
    return SQLITE_DENY;
  };
  switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      return refuse("BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE are not allowed in exec(): writes commit "
                    "automatically per turn segment; use storage().transaction(f) for a nested transaction");
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return refuse("ATTACH and DETACH are not allowed: an actor reaches only its own database");
    case SQLITE_PRAGMA:
      if (harmless_pragma(a1)) return SQLITE_OK;
      return refuse(std::string("PRAGMA ") + (a1 ? a1 : "") + " is not allowed in exec()");
    default:
      break;
  }
  if (starts_with_nocase(a1, "_cairn_") || starts_with_nocase(a2, "_cairn_"))
    return refuse("tables whose names start with _cairn_ belong to cairn (the KV store and the alarm)");
  return SQLITE_OK;
}

// A namespace name as one safe path component.
std::string path_component(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      append_hex(out, &c, 1);
    }
  }
  if (out == "." || out == "..") out = "%2e" + out.substr(1);
  return out;
}

}  // namespace

std::string value_hex(const actor_id::value_type& v) {
  std::string s;
  append_hex(s, v.data(), v.size());
  return s;
}

std::filesystem::path database_path(const std::filesystem::path& data_dir, const actor_id& id) {
  std::string h = value_hex(id.value());
  const std::filesystem::path ns = data_dir / path_component(id.namespace_name());
  // One level of 256 folders: ext4's hashed folders stay fast with millions
  // of files, and a new actor makes a folder only until all 256 exist.
  std::filesystem::path p = ns / h.substr(0, 2) / (h + ".sqlite");
  // Files made before 2026-12-04 are one level deeper (ns/ab/cd/), where a
  // new actor cost an mkdir (an inode allocation) up to 65,536 of them.
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) {
    std::filesystem::path old = ns / h.substr(0, 2) / h.substr(2, 2) / (h + ".sqlite");
    if (std::filesystem::exists(old, ec)) return old;
  }
  return p;
}

statement::statement(sqlite3* db, std::string_view sql) {
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, &tail);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    throw storage_error(reason::sql, std::string("cairn: ") + sqlite3_errmsg(db));
  }
}

storage_engine::storage_engine(actor& owner, shard& home, durability mode)
    : owner_(owner), home_(home), mode_(mode) {}

storage_engine::~storage_engine() {
  if (txn_open_) home_.remove_dirty(this);
  if (!held_.empty()) {
    // Only when an actor goes without a commit (its activation failed, or
    // the runtime stops): its output never becomes valid.
    auto err = std::make_exception_ptr(storage_error(reason::unavailable, "cairn: the actor went away before its writes were committed"));
    for (auto& h : std::exchange(held_, {})) h.item->fn_(h.item, op::fail, err);
  }
  owner_.unflushed_ = false;
  cache_.clear();
  if (!db_) return;
  if (sql_txn_ && !sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // never flushed: shutdown
  if (mode_ == durability::memory && !broken_) {
    sqlite3_set_authorizer(db_, nullptr, nullptr);
    home_.keep_memory_db(owner_.id(), db_);  // survives hibernation, not the process
  } else {
    close_file();
  }
}

void storage_engine::close_file() noexcept {
  // A checkpoint at close syncs the database file (and the commit log before
  // it) on this shard's thread: when many actors hibernated together, their
  // checkpoints held up every other actor of the shard. A short WAL stays as
  // it is instead: the next instance reads it back (its commits are durable,
  // in the WAL or the commit log), and the checkpoint comes when the WAL has
  // grown (on_wal_commit).
  if (wal_frames_ < keep_wal_frames_at_close) sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_close_v2(db_);
  db_ = nullptr;
  if (mode_ != durability::memory) home_.database_closed();
}

int storage_engine::on_wal_commit(void* self, sqlite3* db, const char* schema, int frames) {
  static_cast<storage_engine*>(self)->wal_frames_ = frames;
  // What SQLite's own hook (wal_autocheckpoint) does, which this one replaces.
  if (frames >= autocheckpoint_wal_frames) sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  return SQLITE_OK;
}

sqlite3* storage_engine::db() {
  if (!db_) open();
  return db_;
}

void storage_engine::fail(const char* what, int rc) {
  std::string msg = std::string("cairn: ") + what + " (" + owner_.id().namespace_name() + "/" +
                    value_hex(owner_.id().value()) + "): " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  bool io = primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CORRUPT ||
            primary == SQLITE_NOTADB || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY ||
            primary == SQLITE_PERM || primary == SQLITE_NOMEM || primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
  if (primary == SQLITE_TOOBIG || primary == SQLITE_RANGE) throw storage_error(reason::limit_exceeded, msg);
  throw storage_error(io ? reason::io : reason::sql, msg);
}

void storage_engine::exec_internal(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail("storage statement failed", rc);
}

const std::filesystem::path& storage_engine::file_path() {
  // Once per instance: finding it may look for the file in two places.
  if (path_.empty()) path_ = database_path(home_.core().options().data_dir, owner_.id());
  return path_;
}

void storage_engine::open() {
  if (broken_)
    throw storage_error(reason::unavailable,
                        "cairn: this actor instance was reset after a failed commit; its storage is closed");
  const runtime_options& opts = home_.core().options();
  const bool test_vfs = !opts.sqlite_vfs.empty();
  const char* vfs = test_vfs ? opts.sqlite_vfs.c_str() : exclusive_vfs();
  bool made_from_image = false;  // then its header says WAL and it has cairn's tables
  int rc;
  if (mode_ == durability::memory) {
    db_ = home_.take_memory_db(owner_.id());
    if (!db_) {
      rc = sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
      if (rc != SQLITE_OK) fail("opening an in-memory database failed", rc);
    }
  } else {
    if (opts.data_dir.empty())
      throw storage_error(reason::unavailable,
                          "cairn: no data directory: set runtime_options::data_dir, or use durability::memory");
    const std::filesystem::path& path = file_path();
    home_.database_opening();
    if (test_vfs) make_parent_folders(path);
    // A new actor's file starts as an image already in WAL mode (see
    // database_file.hpp); a test's VFS sees every file from its start instead.
    made_from_image = !test_vfs && create_database_file(path);
    if (made_from_image && mode_ == durability::full) {
      const auto img = database_image();
      log_database_created(path, img.data(), img.size());
    }
    // A `full` database's WAL writes go to the commit log (logged_vfs.hpp).
    if (mode_ == durability::full && !(vfs = logged_vfs(opts.sqlite_vfs)))
      throw storage_error(reason::io, "cairn: no SQLite VFS named '" + opts.sqlite_vfs + "'");
    rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs);
    if (rc != SQLITE_OK) {
      std::string msg = "cairn: cannot open " + path.string() + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw storage_error(reason::io, msg);
    }
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, static_cast<int>(storage_limits::max_key_and_value + 1024));
    sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, static_cast<int>(storage_limits::max_statement));
    sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, static_cast<int>(storage_limits::max_parameters));
    sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 0);
    if (mode_ != durability::memory) {
      // One process owns the data directory (data_dir_lock.hpp) and one
      // connection each database: exclusive locking mode keeps the WAL's
      // index in the heap (the exclusive VFS has no shared memory, and so no
      // -shm file).
      exec_internal("PRAGMA locking_mode=EXCLUSIVE");
      // Keep the WAL file when the database closes (emptied when the close
      // checkpoints, since journal_size_limit is set): a hibernating actor's next activation
      // then opens it instead of creating a file, which costs an inode
      // allocation each time on ext4.
      int persist_wal = 1;
      sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist_wal);
      exec_internal("PRAGMA journal_size_limit=16777216");
      // `full` too: its commits are made durable by the group sync of the
      // commit log (src/storage/commit_log.hpp), not by an fsync each;
      // NORMAL still syncs the database file in checkpoints, which the log
      // relies on. Set before the switch to WAL, which then syncs less (a
      // file not made from the image: an empty one, or one a test's VFS
      // makes).
      exec_internal("PRAGMA synchronous=NORMAL");
      if (!made_from_image) exec_internal("PRAGMA journal_mode=WAL");
      // What the WAL may hold already (frames an earlier instance left, see
      // close_file(); stale ones too, so at most): its file's size.
      std::error_code ec;
      const auto wal_bytes = std::filesystem::file_size(path_.string() + "-wal", ec);
      wal_frames_ = ec || wal_bytes <= wal_header_bytes ? 0 : (wal_bytes - wal_header_bytes) / wal_frame_bytes;
      sqlite3_wal_hook(db_, &on_wal_commit, this);
    }
    if (!made_from_image) exec_internal(cairn_schema);  // older files get the tables they lack
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
  sqlite3_set_authorizer(db_, &authorize, this);
  cache_.resize(64);
  if (mode_ != durability::memory) home_.database_opened();
  // Commits of an earlier instance (reset since) that are not durable yet:
  // what this one reads of them must not leave before they are.
  if (mode_ == durability::full && home_.sync_awaited()) {
    if (const std::uint64_t e = home_.awaited_epoch(owner_.id()); e > sync_epoch_) {
      sync_epoch_ = e;
      owner_.unflushed_ = true;
    }
  }
}

void storage_engine::close_idle() noexcept {
  if (!db_ || mode_ == durability::memory || txn_open_) return;
  cache_.clear();
  close_file();
}

sqlite3_stmt* storage_engine::cached(int slot, const char* sql) {
  sqlite3* d = db();
  auto& s = cache_[static_cast<std::size_t>(slot) + slot_count_];
  if (!s) s = statement(d, sql);
  if (sqlite3_stmt_busy(s.get())) sqlite3_reset(s.get());  // every use resets it; this is in case one did not
  sqlite3_clear_bindings(s.get());
  return s.get();
}

int storage_engine::run_internal(int slot, const char* sql) noexcept {
  auto& s = cache_[static_cast<std::size_t>(slot)];
  if (!s) {
    // Prepared once per connection: parsing BEGIN or COMMIT on every pass
    // costs about as much as running it.
    const bool saved = user_sql;
    user_sql = false;  // cairn's own statements pass the authorizer
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    user_sql = saved;
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return rc;
    }
    s = statement(raw);
  }
  int rc = sqlite3_step(s.get());
  sqlite3_reset(s.get());
  return rc;
}

// A read of the KV store joins the pass's transaction, opening it if need
// be: a read-modify-write pass then runs one transaction, not a read
// transaction and then a write one. A transaction that only read is ended by
// the flush (or before user SQL runs, see end_read_transaction) and holds
// back no output: only writes set unflushed_.
void storage_engine::before_read() {
  db();
  if (sql_txn_) return;
  join_pass();
  if (run_internal(begin_txn, "BEGIN") != SQLITE_DONE) return;  // the read runs in autocommit instead
  sql_txn_ = true;
  txn_written_ = false;
}

void storage_engine::end_read_transaction() noexcept {
  if (!sql_txn_ || txn_written_ || !db_) return;
  // User SQL then runs as if no transaction were open (PRAGMA foreign_keys,
  // for one, does nothing inside a transaction).
  if (!sqlite3_get_autocommit(db_) && run_internal(commit_txn, "COMMIT") != SQLITE_DONE &&
      !sqlite3_get_autocommit(db_))
    run_internal(rollback_txn, "ROLLBACK");
  sql_txn_ = false;
}

// The first segment of the pass that writes needs no savepoint: undoing it is
// undoing the whole transaction, which holds no other writes (ROLLBACK).
// Later segments that write each get one (SAVEPOINT ... RELEASE).
void storage_engine::before_write() {
  db();
  // A transaction that only read and that SQLite ended itself: nothing is lost.
  if (sql_txn_ && !txn_written_ && sqlite3_get_autocommit(db_)) sql_txn_ = false;
  if (!sql_txn_) {
    join_pass();
    int rc = run_internal(begin_txn, "BEGIN");
    if (rc != SQLITE_DONE) fail("starting a transaction failed", rc);
    sql_txn_ = true;
    txn_written_ = false;
  }
  if (!owner_.segment_open_) {
    if (txn_written_) {
      int rc = run_internal(savepoint_begin, "SAVEPOINT cairn_segment");
      if (rc != SQLITE_DONE) fail("opening the segment failed", rc);
    }
    open_segment(txn_written_);
    txn_written_ = true;
  }
  owner_.unflushed_ = true;
}

void storage_engine::open_segment(bool savepoint) noexcept {
  owner_.segment_open_ = true;
  segment_savepoint_ = savepoint;
  // What an abort of this segment restores.
  segment_alarm_changed_ = alarm_changed_;
  segment_pending_alarm_ = pending_alarm_;
}

void storage_engine::end_segment() noexcept {
  owner_.segment_open_ = false;
  if (!db_ || !sql_txn_) return;
  if (sqlite3_get_autocommit(db_)) {
    txn_lost_ = true;
    return;
  }
  if (segment_savepoint_ && run_internal(savepoint_release, "RELEASE cairn_segment") != SQLITE_DONE)
    txn_lost_ = true;
}

void storage_engine::abort_segment() noexcept {
  owner_.segment_open_ = false;
  nested_ = 0;
  // The alarm write of the segment, if any, is undone with it.
  alarm_changed_ = segment_alarm_changed_;
  pending_alarm_ = segment_pending_alarm_;
  if (!db_ || !sql_txn_ || sqlite3_get_autocommit(db_)) return;
  if (segment_savepoint_) {
    // ROLLBACK TO keeps the savepoint open; RELEASE then drops it, now empty.
    if (run_internal(savepoint_rollback, "ROLLBACK TO cairn_segment") != SQLITE_DONE ||
        run_internal(savepoint_release, "RELEASE cairn_segment") != SQLITE_DONE)
      txn_lost_ = true;
  } else if (run_internal(rollback_txn, "ROLLBACK") == SQLITE_DONE || sqlite3_get_autocommit(db_)) {
    // The segment was the pass's first to write: nothing else is undone. The
    // actor stays in the shard's dirty list, so that its held output is
    // released by the next flush (which has nothing to commit then); a later
    // access of the pass begins a new transaction.
    sql_txn_ = false;
    txn_written_ = false;
  } else {
    txn_lost_ = true;  // the segment's writes are still there: the flush must not commit them
  }
}

void storage_engine::check_transaction_survived() noexcept {
  if (sql_txn_ && db_ && sqlite3_get_autocommit(db_)) {
    txn_lost_ = true;
    owner_.segment_open_ = false;
  }
}

void storage_engine::commit_refused() noexcept {
  txn_open_ = false;
  owner_.segment_open_ = false;
  if (sql_txn_ && db_ && !sqlite3_get_autocommit(db_)) run_internal(rollback_txn, "ROLLBACK");
  sql_txn_ = false;
  txn_written_ = false;
  txn_lost_ = false;
  nested_ = 0;
}

bool storage_engine::commit() noexcept {
  if (!txn_open_) return true;
  txn_open_ = false;
  owner_.segment_open_ = false;
  bool ok = !txn_lost_;
  if (sql_txn_) {
    const bool done = !sqlite3_get_autocommit(db_) && run_internal(commit_txn, "COMMIT") == SQLITE_DONE;
    if (!done) {
      if (!sqlite3_get_autocommit(db_)) run_internal(rollback_txn, "ROLLBACK");
      if (txn_written_) ok = false;  // a transaction that only read loses nothing
    }
  }
  // else: nothing to commit (the pass's only writing segment was rolled back,
  // or its transaction only read and ended before user SQL ran)
  sql_txn_ = false;
  txn_written_ = false;
  txn_lost_ = false;
  nested_ = 0;
  return ok;
}

void storage_engine::break_after_failed_commit() noexcept {
  broken_ = true;
  cache_.clear();
  if (db_) {
    if (mode_ == durability::memory) {
      // The in-memory database is the only copy: give it back (rolled back)
      // so the next instance starts from what was committed.
      sqlite3_set_authorizer(db_, nullptr, nullptr);
      home_.keep_memory_db(owner_.id(), db_);
    } else {
      sqlite3_close_v2(db_);
      home_.database_closed();
    }
    db_ = nullptr;
  }
}

void storage_engine::begin_nested() {
  before_write();
  std::string sql = "SAVEPOINT cairn_nested_" + std::to_string(nested_);
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail("starting a nested transaction failed", rc);
  ++nested_;
}

void storage_engine::commit_nested() {
  if (nested_ == 0) return;
  --nested_;
  std::string sql = "RELEASE cairn_nested_" + std::to_string(nested_);
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail("committing a nested transaction failed", rc);
}

void storage_engine::rollback_nested() noexcept {
  if (nested_ == 0 || !db_) return;
  --nested_;
  std::string n = std::to_string(nested_);
  std::string sql = "ROLLBACK TO cairn_nested_" + n + "; RELEASE cairn_nested_" + n;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) check_transaction_survived();
}

std::optional<std::string> storage_engine::read_id_name() {
  // No database yet: nothing recorded, and reading must not make one.
  if (!db_ && mode_ == durability::memory && !home_.has_memory_db(owner_.id())) return std::nullopt;
  if (!db_ && mode_ != durability::memory) {
    const auto& dir = home_.core().options().data_dir;
    std::error_code ec;
    if (dir.empty() || !std::filesystem::exists(file_path(), ec)) return std::nullopt;
  }
  sqlite3_stmt* s = cached(43, "SELECT name FROM _cairn_name WHERE one = 1");
  int rc = sqlite3_step(s);
  std::optional<std::string> out;
  if (rc == SQLITE_ROW)
    out.emplace(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail("reading the actor's name failed", rc);
  return out;
}

void storage_engine::write_id_name(std::string_view name) {
  before_write();
  sqlite3_stmt* s = cached(44, "INSERT OR REPLACE INTO _cairn_name(one, name) VALUES (1, ?)");
  sqlite3_bind_text(s, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    check_transaction_survived();
    fail("recording the actor's name failed", rc);
  }
}

std::optional<stored_alarm> storage_engine::read_alarm() {
  sqlite3_stmt* s = cached(40, "SELECT at_ms, retry FROM _cairn_alarm WHERE one = 1");
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    stored_alarm a{sqlite3_column_int64(s, 0), static_cast<std::uint32_t>(sqlite3_column_int64(s, 1))};
    sqlite3_reset(s);
    return a;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) fail("reading the alarm failed", rc);
  return std::nullopt;
}

void storage_engine::write_alarm(std::optional<stored_alarm> a) {
  before_write();
  sqlite3_stmt* s;
  if (a) {
    s = cached(41, "INSERT OR REPLACE INTO _cairn_alarm(one, at_ms, retry) VALUES (1, ?, ?)");
    sqlite3_bind_int64(s, 1, a->at_ms);
    sqlite3_bind_int64(s, 2, a->retry);
  } else {
    s = cached(42, "DELETE FROM _cairn_alarm");
  }
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    check_transaction_survived();
    fail("writing the alarm failed", rc);
  }
  pending_alarm_ = a;
  alarm_changed_ = true;
}

// ---- hooks the awaiters call (actor.hpp) ----

void end_segment_slow(actor& a) noexcept {
  if (auto* e = actor_access::engine(a)) e->end_segment();
}

void abort_segment_slow(actor& a) noexcept {
  if (auto* e = actor_access::engine(a)) e->abort_segment();
}

}  // namespace cairn::detail
