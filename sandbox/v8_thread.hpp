#pragma once
// One pool thread: a queue of jobs from shards (load, call, drop) and from
// the pool's own machinery (host replies, deadlines), the isolates of the
// tenants it serves, and the workers loaded in them. Everything but post()
// runs on the thread itself. Private to sandbox/.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include <boost/json/value.hpp>

#include <cairn/sandbox/worker_code.hpp>
#include <cairn/task.hpp>

#include "hop.hpp"
#include "tenant_isolate.hpp"
#include "worker_instance.hpp"

namespace cairn::sandbox::detail {

class pool_state;
class watchdog;

class v8_thread {
 public:
  v8_thread(pool_state& pool, unsigned index);
  ~v8_thread();
  v8_thread(const v8_thread&) = delete;
  v8_thread& operator=(const v8_thread&) = delete;

  /// Any thread: queues `job`; false (and dropped) once the thread has stopped.
  bool post(std::function<void()> job);
  /// Any thread: fails what is pending (errc::shut_down) and joins.
  void stop();
  /// Jobs queued or running, for picking the least busy thread.
  [[nodiscard]] std::size_t backlog() const noexcept { return backlog_.load(std::memory_order_relaxed); }
  [[nodiscard]] unsigned index() const noexcept { return index_; }
  [[nodiscard]] pool_state& pool() noexcept { return pool_; }
  [[nodiscard]] watchdog& dog() noexcept;

  // ---- jobs (on the thread) ----
  /// Loads `code`; `cache_id` non-empty: keeps it in the cache under that id.
  void do_load(hop& h, worker_code code, const std::string& cache_id);
  /// Calls the worker `key`, or the cached worker `cache_id` (h.missing if gone).
  void do_call(hop& h, std::uint64_t key, const std::string& cache_id, boost::json::value input);
  void do_fetch(hop& h, std::uint64_t key, const std::string& cache_id, outbound_request request);
  void do_drop(std::uint64_t key);
  void do_expire(std::uint64_t key, std::uint64_t seq);

  // ---- for workers (on the thread) ----
  [[nodiscard]] std::uint64_t next_run_seq() noexcept { return ++run_seq_; }
  /// Arms the wall deadline of run `seq` of worker `key`.
  void arm_deadline(std::uint64_t key, std::uint64_t seq, std::chrono::milliseconds wall);
  /// Starts `t` on shard `shard`; false if the runtime has stopped.
  bool spawn_on_shard(unsigned shard, task<void> t);
  /// Delivers a host answer to worker `key` later, on this thread (any thread may call).
  void post_host_reply(std::uint64_t key, std::uint64_t call, worker_instance::host_answer a);

 private:
  void main();
  /// Runs `start(worker)` in its isolate, or answers h.missing if it is gone.
  template <class Start>
  void on_worker(hop& h, std::uint64_t key, const std::string& cache_id, Start&& start);
  worker_instance* find(std::uint64_t key, const std::string& cache_id);
  tenant_isolate& isolate_for(const isolate_key& k, bool one_off);
  /// After a job touched `w`: drops it if it broke, and its isolate if the heap did.
  void tidy(worker_instance* w);
  void drop_worker(std::uint64_t key);
  void drop_isolate(tenant_isolate* iso);
  void enforce_cache_budget();

  pool_state& pool_;
  unsigned index_;
  std::atomic<std::size_t> backlog_{0};
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;

  // ---- owned by the thread ----
  std::unordered_map<std::string, std::unique_ptr<tenant_isolate>> isolates_;  // by isolate_key::str()
  std::list<tenant_isolate*> idle_isolates_;  // warm isolates without workers, oldest first
  std::unordered_map<std::uint64_t, std::unique_ptr<worker_instance>> workers_;
  std::unordered_map<std::string, std::uint64_t> cached_;  // cache id -> key
  std::unordered_map<std::uint64_t, std::string> cache_id_of_;
  std::list<std::string> lru_;                             // cache ids, least recently used first
  std::unordered_map<std::string, std::list<std::string>::iterator> lru_pos_;
  std::uint64_t run_seq_ = 0;
  std::uint64_t next_key_ = 0;
  unsigned loads_since_budget_ = 0;
};

}  // namespace cairn::sandbox::detail
