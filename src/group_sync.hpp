#pragma once
// The node's group sync: one thread that makes the `full` commits of every
// shard durable with one syncfs(2) of the data directory's file system at a
// time. A shard commits a pass (SQLite writes its WAL without an fsync),
// hands the pass's epoch here and goes on running turns; the output the pass
// holds leaves when a sync that began after the request has returned. Every
// shard's requests that arrive while one sync runs share the next one.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
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

  /// Shard `s` committed `epoch` (greater than any it asked before).
  void request(std::uint32_t s, std::uint64_t epoch);
  /// Cheap: whether shard `s` has outcomes to take.
  [[nodiscard]] bool has_outcomes(std::uint32_t s) const noexcept {
    return slots_[s].ready.load(std::memory_order_seq_cst);
  }
  /// Moves shard s's outcomes, oldest first, into `out` (cleared first).
  void take(std::uint32_t s, std::vector<outcome>& out);
  /// Blocks until shard s's `epoch` has an outcome (to stop with nothing held).
  void wait_for(std::uint32_t s, std::uint64_t epoch);

 private:
  struct slot {
    std::uint64_t requested = 0;  // the newest epoch asked for (under mutex_)
    std::uint64_t covered = 0;    // the newest with an outcome (under mutex_)
    std::vector<outcome> outcomes;  // not taken yet (under mutex_)
    std::atomic<bool> ready{false};
  };
  void run();
  int sync_once();  // 0, or the errno of the failure

  std::filesystem::path data_dir_;
  int dir_fd_ = -1;
  std::function<void(std::uint32_t)> wake_;
  std::unique_ptr<slot[]> slots_;
  std::uint32_t shards_;
  std::mutex mutex_;
  std::condition_variable work_;   // a request arrived, or stop
  std::condition_variable done_;   // outcomes arrived (wait_for)
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cairn::detail
