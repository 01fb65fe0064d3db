#pragma once
// The machinery behind cairn::storage: one SQLite connection per actor, the
// transaction that groups the segments of one loop pass, the savepoint of the
// running segment, and the output held until the next commit is durable.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cairn/actor.hpp>
#include <cairn/detail/shard.hpp>
#include <cairn/durability.hpp>
#include <cairn/errors.hpp>

namespace cairn::detail {

struct work_item;

/// One prepared statement, finalized on destruction.
class statement {
 public:
  statement() = default;
  statement(sqlite3* db, std::string_view sql);
  /// Takes ownership of a statement prepared elsewhere.
  explicit statement(sqlite3_stmt* adopted) noexcept : stmt_(adopted) {}
  ~statement() { sqlite3_finalize(stmt_); }
  statement(statement&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)) {}
  statement& operator=(statement&& o) noexcept {
    std::swap(stmt_, o.stmt_);
    return *this;
  }
  [[nodiscard]] sqlite3_stmt* get() const noexcept { return stmt_; }
  explicit operator bool() const noexcept { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// Output produced after a write, waiting for the commit.
struct held_output {
  work_item* item;
  bool reply;  // a reply or another effect (run at release), else a message it sends
};

/// The stored alarm of one actor.
struct stored_alarm {
  std::int64_t at_ms;
  std::uint32_t retry;
};

class storage_engine {
 public:
  storage_engine(actor& owner, shard& home, durability mode);
  ~storage_engine();
  storage_engine(const storage_engine&) = delete;
  storage_engine& operator=(const storage_engine&) = delete;

  [[nodiscard]] durability mode() const noexcept { return mode_; }
  [[nodiscard]] actor& owner() const noexcept { return owner_; }

  /// The connection, opened on first use; throws storage_error if the
  /// database cannot be opened or the actor was reset.
  sqlite3* db();
  /// A cached statement for one of cairn's own queries.
  sqlite3_stmt* cached(int slot, const char* sql);

  // ---- segments and the group commit ----
  /// Before a KV read: joins the pass's transaction (opens it if need be).
  void before_read();
  /// Before user SQL: ends the pass's transaction if it has only read, so
  /// that user SQL runs as it would without it.
  void end_read_transaction() noexcept;
  /// Before any write: opens the pass's transaction, or the segment's
  /// savepoint if the transaction already holds writes of earlier segments.
  void before_write();
  void end_segment() noexcept;
  void abort_segment() noexcept;
  /// After a statement failed: if SQLite rolled back the whole transaction
  /// (disk full, I/O error), the pass's earlier segments are gone too, so the
  /// next flush must fail.
  void check_transaction_survived() noexcept;
  /// Commits the pass's transaction. False: it failed and was rolled back.
  bool commit() noexcept;
  /// Rolls the pass's transaction back instead (its alarm could not be indexed).
  void commit_refused() noexcept;
  /// Closes the database file of an idle actor to stay within the shard's
  /// budget of open files; db() reopens it on the next use.
  void close_idle() noexcept;
  [[nodiscard]] bool holds_open_file() const noexcept { return db_ && mode_ != durability::memory; }
  /// Marks the storage unusable (the actor is being reset) and closes it.
  void break_after_failed_commit() noexcept;

  // ---- output gate ----
  /// Holds output until the next flush. An actor whose last commit awaits
  /// its group sync joins the pass only for that: the flush then hands the
  /// output to that commit's epoch.
  void hold(work_item* w, bool reply) {
    if (!txn_open_) join_pass();
    held_.push_back({w, reply});
  }
  std::vector<held_output> take_held() noexcept { return std::exchange(held_, {}); }
  /// A segment of this pass's transaction wrote (its commit changes the file).
  [[nodiscard]] bool wrote_in_pass() const noexcept { return txn_written_; }
  /// The epoch whose group sync the last `full` commit awaits (0: none).
  [[nodiscard]] std::uint64_t sync_epoch() const noexcept { return sync_epoch_; }
  void await_sync(std::uint64_t epoch) noexcept { sync_epoch_ = epoch; }


  // ---- nested transactions (storage::transaction) ----
  void begin_nested();
  void commit_nested();
  void rollback_nested() noexcept;

  // ---- the actor's name ----
  /// The recorded name; nullopt without opening anything if the actor has
  /// no database yet.
  [[nodiscard]] std::optional<std::string> read_id_name();
  void write_id_name(std::string_view name);

  // ---- alarm ----
  [[nodiscard]] std::optional<stored_alarm> read_alarm();
  void write_alarm(std::optional<stored_alarm> a);
  /// The alarm as the last commit left it changed: the index and the shard's
  /// schedule are updated after the commit (index first, before it).
  [[nodiscard]] bool alarm_changed() const noexcept { return alarm_changed_; }
  [[nodiscard]] std::optional<stored_alarm> pending_alarm() const noexcept { return pending_alarm_; }
  void clear_alarm_change() noexcept { alarm_changed_ = false; }

  /// Set while user SQL runs: the authorizer then refuses what exec() must not do.
  bool user_sql = false;
  std::string refusal;  // why the authorizer refused, for the error message

  /// Raises storage_error for the connection's last error.
  [[noreturn]] void fail(const char* what, int rc);

 private:
  void open();
  /// Where this actor's database file is (found once per instance).
  const std::filesystem::path& file_path();
  // Closes the file's connection; a short WAL is left for the next instance.
  void close_file() noexcept;
  // SQLite's WAL hook: after each commit, with the WAL's length in frames.
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int frames);
  // SQLite's default for wal_autocheckpoint (this hook replaces its own).
  static constexpr int autocheckpoint_wal_frames = 1000;
  // A WAL shorter than this is not checkpointed when its database closes (256 KiB
  // of 4 KiB pages).
  static constexpr std::uint64_t keep_wal_frames_at_close = 64;
  static constexpr std::uint64_t wal_header_bytes = 32;
  static constexpr std::uint64_t wal_frame_bytes = 24 + 4096;  // frame header + a page of the default size
  void exec_internal(const char* sql);
  /// Steps one of cairn's transaction control statements (prepared on first
  /// use, kept in cache_[slot]); returns SQLite's result code.
  int run_internal(int slot, const char* sql) noexcept;
  void open_segment(bool savepoint) noexcept;
  void join_pass() {
    if (txn_open_) return;
    home_.add_dirty(this);  // the next flush ends the transaction (and releases held output)
    txn_open_ = true;
    txn_lost_ = false;
  }

  actor& owner_;
  shard& home_;
  durability mode_;
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;  // the database file's (file_path())
  std::uint64_t wal_frames_ = 0;  // frames in the WAL (at most), as the last commit or the open saw it
  bool broken_ = false;
  bool txn_open_ = false;     // in the shard's dirty list: the next flush commits and releases output
  bool sql_txn_ = false;      // BEGIN ran and no COMMIT or ROLLBACK yet (of ours)
  bool txn_written_ = false;  // a segment of that transaction wrote
  bool txn_lost_ = false;     // SQLite rolled the transaction back by itself: the flush fails
  bool segment_savepoint_ = false;  // the open segment has a savepoint (else it is the first to write)
  std::uint32_t nested_ = 0;
  std::vector<held_output> held_;
  std::uint64_t sync_epoch_ = 0;
  std::vector<statement> cache_;
  std::optional<stored_alarm> pending_alarm_;
  bool alarm_changed_ = false;
  // The alarm state when the open segment began (restored if it aborts).
  std::optional<stored_alarm> segment_pending_alarm_;
  bool segment_alarm_changed_ = false;
};

/// Where an actor's database file lives under the data directory (where an
/// older layout put it, if it is there).
[[nodiscard]] std::filesystem::path database_path(const std::filesystem::path& data_dir, const actor_id& id);
/// The id's 128-bit value as 32 hex chars (the file name and the alarm index key).
[[nodiscard]] std::string value_hex(const actor_id::value_type& v);

}  // namespace cairn::detail
