#pragma once
// The node's commit log: what makes the `full` commits durable. SQLite writes
// each actor's WAL without an fsync; the logged VFS (logged_vfs.hpp) copies
// every write to a WAL into records here, and the group sync makes them
// durable with one fdatasync of one file that is already allocated, instead of
// a syncfs over every WAL file the commits touched (about a third of the
// time on the disks we measured, and none of the journal commits).
//
// Two segment files take turns (.cairn-log.0 and .cairn-log.1 in the data
// directory). When the active one is full, the other becomes active and the
// full one is retired: once a syncfs (begun after the switch) has made every
// file it describes durable in place, its header is cleared. At start,
// replay() applies the records of the live segments to their files, in
// order, and clears them.
//
// Replay never goes behind what the files themselves made durable, because
// the only syncs a logged database makes of its own are of its database file
// (in checkpoints), and before SQLite writes that file the logged VFS makes
// the log cover every WAL write so far (append_and_sync). Records of writes
// that were already on disk rewrite the same bytes; SQLite's WAL checksums
// ignore the frames of an older WAL cycle that replay may leave past the end
// of a newer one.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace cairn::detail {

class commit_log {
 public:
  static constexpr std::size_t default_segment_bytes = std::size_t{64} << 20;
  static constexpr std::size_t min_segment_bytes = std::size_t{1} << 20;

  /// Replays what an earlier run left in `data_dir` (throws storage_error if
  /// it cannot, leaving the log as it was), then takes new records. Each
  /// segment holds up to `segment_bytes`.
  commit_log(std::filesystem::path data_dir, std::size_t segment_bytes);
  /// Makes every file durable (syncfs) and clears both segments: the next
  /// start replays nothing. Every database under the log is closed by then.
  ~commit_log();
  commit_log(const commit_log&) = delete;
  commit_log& operator=(const commit_log&) = delete;

  /// The absolute data directory; records name files relative to it.
  [[nodiscard]] const std::string& root() const noexcept { return root_; }

  // ---- records (built by any thread, without the log's lock) ----
  static void add_write(std::string& out, std::string_view path, std::uint64_t offset, const void* data,
                        std::size_t n);
  static void add_truncate(std::string& out, std::string_view path, std::uint64_t size);
  /// A new database file written from `image`: replay writes it again if the
  /// file is missing or empty.
  static void add_create(std::string& out, std::string_view path, const void* image, std::size_t n);

  // ---- writing and syncing (any thread) ----
  /// Appends records built above (stamping them with the segment's
  /// generation; switching segments as they fill). After a
  /// failure the log is unhealthy and appends do nothing; the next sync()
  /// reports the failure.
  void append(std::string& records);
  /// Makes everything appended so far durable: 0, or the errno of the failure.
  /// Any thread; one fdatasync at a time, and a call returns only once a
  /// sync that began after its records were written has.
  int sync();
  /// append(records), clear them, and sync(), on the caller's thread.
  int append_and_sync(std::string& records);
  /// False after a failed write or sync: the databases then sync their WAL
  /// files themselves (the logged VFS), and the group sync uses syncfs.
  [[nodiscard]] bool healthy() const noexcept;
  /// Makes the log unhealthy, as a failure of its own would (the group sync
  /// no longer trusts it).
  void abandon(int error) noexcept;
  /// After a syncfs that began once the log was unhealthy: everything it
  /// holds is durable in place, so both segments are cleared.
  void discard() noexcept;

  /// What the constructor's replay did (for tests and the log).
  struct replay_stats {
    std::size_t records = 0;
    std::size_t files = 0;
  };
  [[nodiscard]] const replay_stats& replayed() const noexcept { return replayed_; }

  /// Tests only: sync() calls it between claiming what it syncs and syncing it.
  static inline std::function<void()> after_claim_for_tests;

  /// The log whose data directory holds `path` (absolute, as SQLite names
  /// files), and the path relative to it; nullptr if none.
  static commit_log* owner_of(std::string_view path, std::string_view& relative) noexcept;

 private:
  struct segment {
    int fd = -1;
    std::uint64_t generation = 0;  // 0: not live
    std::uint64_t allocated = 0;   // bytes written (zeros at least) from the start
    bool filling = false;          // the keeper writes zeros from `allocated` on
    bool dirty = false;            // written since the last sync
    bool retiring = false;         // full, waiting for its syncfs
    bool read_only = false;        // opened for reading only (replay found it retired)
  };
  void replay();
  void open_segment(int i);
  bool create_segment(segment& s, int i);
  // Under mutex_ (held by `lock`).
  [[nodiscard]] std::uint64_t fill_target() const noexcept;
  bool write_at(std::unique_lock<std::mutex>& lock, segment& s, std::uint64_t at, const char* p, std::size_t n);
  bool start_segment(std::unique_lock<std::mutex>& lock, int i);
  bool switch_segment(std::unique_lock<std::mutex>& lock);
  void fail(int error) noexcept;
  int clear_header(segment& s) noexcept;
  void keeper_loop();

  std::filesystem::path dir_;
  std::string root_;            // absolute, with a trailing '/'
  std::string canonical_root_;  // the same with symbolic links resolved
  std::size_t segment_bytes_;
  int dir_fd_ = -1;
  replay_stats replayed_;

  std::mutex append_mutex_;  // taken before mutex_, by append() only
  std::mutex sync_mutex_;    // taken before mutex_, by sync() only
  mutable std::mutex mutex_;
  std::condition_variable keeper_work_;  // a segment to retire, or zeros to write
  std::condition_variable keeper_done_;  // a segment retired, or zeros written
  segment segments_[2];
  int active_ = 0;
  std::uint64_t cursor_ = 0;           // where the next record goes in the active segment
  std::uint64_t written_ = 0;          // writes of records (and headers) so far
  std::uint64_t synced_ = 0;           // of those, how many a finished sync covered
  std::uint64_t last_generation_ = 0;  // the newest ever used
  int error_ = 0;                      // the first failure, reported by the next sync
  std::atomic<bool> unhealthy_{false};
  bool stop_ = false;
  std::thread keeper_;
};

}  // namespace cairn::detail
