#pragma once
// The node's group sync: one sync at a time, on a thread of its own (or on
// an idle shard's), makes the `full` commits of every shard durable. A
// shard commits a pass (SQLite writes its WAL without an fsync), hands the
// pass's epoch here and goes on running turns; the output the pass
// holds leaves when a sync that began after the request has returned. Every
// shard's requests that arrive while one sync runs share the next one.
// A sync that covers one WAL file (one hot actor) fdatasyncs just that one,
// which is quicker than a syncfs; one that covers more (several fdatasyncs
// one after the other were slower than one syncfs), or follows a file
// created since the last syncfs began (its folder entry must be durable
// too; see database_file.hpp), is one syncfs. A shard with nothing else to
// do runs the sync itself (sync_here).
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
  group_sync(std::filesystem::path data_dir, std::uint32_t shards, std::function<void(std::uint32_t)> wake);
  ~group_sync();
  group_sync(const group_sync&) = delete;
  group_sync& operator=(const group_sync&) = delete;

  /// What one epoch wrote: the WAL files of its commits.
  struct writes {
    std::vector<std::string> wal_files;
  };
  /// Most files a sync fdatasyncs one by one instead of one syncfs
  /// (measured on the JS counters: 1 and 2 alike, 4 slower).
  static constexpr std::size_t max_file_syncs = 1;

  /// Shard `s` committed `epoch` (greater than any it asked before), having
  /// written `w` (moved from).
  void request(std::uint32_t s, std::uint64_t epoch, writes& w);
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
    writes pending;               // of the epochs asked for and not yet claimed (under mutex_)
    std::vector<outcome> outcomes;  // not taken yet (under mutex_)
    std::atomic<bool> ready{false};
  };
  struct claim {
    std::vector<std::uint64_t> wanted;  // per shard, the epoch the sync covers
    std::vector<std::string> files;
  };
  void run();
  [[nodiscard]] bool pending() const noexcept;
  // Claims every request, syncs without the lock, publishes the outcomes and
  // wakes the shards (other than `self`) that have some. Under the lock.
  void sync_claimed(std::unique_lock<std::mutex>& lock, claim& c, std::uint32_t self);
  // 0, or the errno of the failure.
  int sync_once(const std::vector<std::string>& files, bool whole_file_system);
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
  // Of whoever syncs (one at a time, handed over under mutex_):
  bool failed_once_ = false;            // after a failure every sync is a syncfs
  std::uint64_t creations_synced_ = 0;  // files_created() when the last good syncfs began
  std::thread thread_;
};

}  // namespace cairn::detail
