#pragma once
// The node's group sync: one sync at a time, on a thread of its own (or on
// an idle shard's), makes the `full` commits of every shard durable. A
// shard commits a pass (SQLite writes its WAL without an fsync, and the
// logged VFS copies the writes into records of the commit log), hands the
// pass's records and epoch here and goes on running turns; the output the
// pass holds leaves when a sync that began after the request has returned.
// Every shard's requests that arrive while one sync runs share the next one.
// A sync is one fdatasync of the commit log (storage/commit_log.hpp); after
// a failure, when the log can no longer be trusted, it is a syncfs of the
// data directory's file system. A shard with nothing else to do runs the
// sync itself (sync_here).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/commit_log.hpp"

namespace cairn::detail {

class group_sync {
 public:
  /// What became of a shard's epochs: every one up to `epoch` (after the
  /// previous outcome's) is durable, or the sync meant to make it so failed
  /// with `error` (an errno value).
  struct outcome {
    std::uint64_t epoch;
    int error;
  };

  /// `wake(s)` is called (from the sync thread) when shard s has outcomes.
  /// Replays the commit log an earlier run left (throws storage_error if it
  /// cannot); its segments hold `log_segment_bytes` each.
  group_sync(std::filesystem::path data_dir, std::uint32_t shards, std::size_t log_segment_bytes,
             std::function<void(std::uint32_t)> wake);
  ~group_sync();
  group_sync(const group_sync&) = delete;
  group_sync& operator=(const group_sync&) = delete;

  /// A shard's thread batches its records for this log (logged_vfs.hpp)
  /// from bind_thread() on; unbind_thread() appends what is left.
  void bind_thread();
  void unbind_thread();
  /// Shard `s` committed `epoch` (greater than any it asked before): the
  /// thread's records go to the log, and the next sync covers them.
  void request(std::uint32_t s, std::uint64_t epoch);
  [[nodiscard]] const commit_log& log() const noexcept { return log_; }
  /// Cheap: whether shard `s` has outcomes to take.
  [[nodiscard]] bool has_outcomes(std::uint32_t s) const noexcept {
    return slots_[s].ready.load(std::memory_order_seq_cst);
  }
  /// Moves shard s's outcomes, oldest first, into `out` (cleared first).
  void take(std::uint32_t s, std::vector<outcome>& out);
  /// Blocks until shard s's `epoch` has an outcome (to stop with nothing held).
  void wait_for(std::uint32_t s, std::uint64_t epoch);
  /// Shard `s`, with nothing else to do, runs the sync of what it asked for
  /// itself, if no sync is running: a chain of one request at a time then
  /// waits for no hand-over to the sync thread and back. False (and nothing
  /// done) if a sync is running or nothing of s's waits.
  bool sync_here(std::uint32_t s);

 private:
  struct slot {
    std::uint64_t requested = 0;  // the newest epoch asked for (under mutex_)
    std::uint64_t covered = 0;    // the newest with an outcome (under mutex_)
    std::vector<outcome> outcomes;  // not taken yet (under mutex_)
    std::atomic<bool> ready{false};
  };
  struct claim {
    std::vector<std::uint64_t> wanted;  // per shard, the epoch the sync covers
  };
  void run();
  [[nodiscard]] bool pending() const noexcept;
  // Claims every request, syncs without the lock, publishes the outcomes and
  // wakes the shards (other than `self`) that have some. Under the lock.
  void sync_claimed(std::unique_lock<std::mutex>& lock, claim& c, std::uint32_t self);
  // 0, or the errno of the failure.
  int sync_once();
  int sync_file_system();

  std::filesystem::path data_dir_;
  int dir_fd_ = -1;
  std::function<void(std::uint32_t)> wake_;
  std::unique_ptr<slot[]> slots_;
  std::uint32_t shards_;
  std::mutex mutex_;
  std::condition_variable work_;   // a request arrived, or stop
  std::condition_variable done_;   // outcomes arrived (wait_for)
  bool stop_ = false;
  bool syncing_ = false;      // a sync runs (on the sync thread or a shard's)
  commit_log log_;  // after a failure (unhealthy) every sync is a syncfs
  std::thread thread_;
};

}  // namespace cairn::detail
