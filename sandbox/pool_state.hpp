#pragma once
// What a pool shares between its handle, its threads and the coroutines that
// answer guests on shards (they hold it weakly). Private to sandbox/.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <cairn/sandbox/pool.hpp>

#include "v8_thread.hpp"
#include "watchdog.hpp"

namespace cairn::sandbox::detail {

class pool_state : public std::enable_shared_from_this<pool_state> {
 public:
  pool_state(runtime& rt, pool_options options);
  ~pool_state();

  /// Fails what is pending and joins the threads.
  void shutdown();

  [[nodiscard]] runtime& rt() noexcept { return rt_; }
  [[nodiscard]] const pool_options& options() const noexcept { return options_; }
  [[nodiscard]] watchdog& dog() noexcept { return *dog_; }
  [[nodiscard]] v8_thread& thread(unsigned i) noexcept { return *threads_[i]; }
  [[nodiscard]] unsigned thread_count() const noexcept { return static_cast<unsigned>(threads_.size()); }
  /// The least busy thread.
  [[nodiscard]] v8_thread& pick();

  // Which thread holds each cached worker (any thread).
  [[nodiscard]] int placed(const std::string& id);
  void place(const std::string& id, unsigned thread);
  void unplace(const std::string& id, unsigned thread);

  std::atomic<std::size_t> isolates{0};
  std::atomic<std::size_t> isolates_created{0};
  std::atomic<std::size_t> isolates_dropped_for_heap{0};
  std::atomic<std::size_t> cached_workers{0};
  std::atomic<std::uint64_t> one_off_tenants{0};

 private:
  runtime& rt_;
  pool_options options_;
  std::unique_ptr<watchdog> dog_;
  std::vector<std::unique_ptr<v8_thread>> threads_;
  std::mutex m_;
  std::unordered_map<std::string, unsigned> placement_;
  std::atomic<unsigned> rr_{0};
};

}  // namespace cairn::sandbox::detail
