#pragma once
// cairn::sandbox::pool: threads running V8 isolates that run guest code with
// nothing but what the host grants. Actors `co_await` loads and calls; the
// work runs on the pool's threads and the caller resumes on its own shard.
//
//   sandbox::pool pool(rt);
//   sandbox::worker_code code;
//   code.modules["main.js"] = "export default async (input, env) => input.n * 2";
//   code.main = "main.js";
//   auto w = co_await pool.load(std::move(code));
//   auto r = co_await w.call(boost::json::object{{"n", 21}});   // r.value == 42
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/json/value.hpp>

#include <cairn/sandbox/error.hpp>
#include <cairn/sandbox/fetch_policy.hpp>
#include <cairn/sandbox/worker_code.hpp>
#include <cairn/task.hpp>

namespace cairn {
class runtime;
}

namespace cairn::sandbox {

struct pool_options {
  /// Threads running isolates (0: one per hardware thread).
  unsigned threads = 0;
  /// Cached workers (pool::get) are dropped least recently used first while
  /// the isolates of a thread hold more heap than its share of this.
  std::size_t cache_bytes = std::size_t{512} << 20;
  /// Cached workers per thread, whatever their size.
  std::size_t max_cached_workers = 10'000;
  /// Idle isolates (tenants without a worker) kept warm per thread.
  std::size_t warm_isolates = 64;
  /// WebAssembly memory cap in 64 KiB pages, for workers granted wasm. This is
  /// a V8 flag: the first pool of the process sets it.
  unsigned wasm_max_pages = 256;
  /// Whether workers of this process can be granted WebAssembly at all
  /// (limits::wasm). Off, V8 no longer builds the WebAssembly namespace in
  /// each new context (about a tenth of a fresh worker's load) and a worker
  /// granted wasm is refused with errc::not_granted. Also a V8 flag: the first
  /// pool decides, and a later pool asking for it when it is off throws
  /// std::logic_error.
  bool webassembly = true;
};

/// The value a call returned, with what the guest wrote to the console.
struct call_result {
  boost::json::value value;
  std::string console;
  std::chrono::microseconds cpu{0};
};

/// The Response a Worker-style `fetch(request, env)` returned.
struct fetch_result {
  outbound_response response;
  std::string console;
  std::chrono::microseconds cpu{0};
};

namespace detail {
class pool_state;
struct worker_handle;
}  // namespace detail

/// A loaded worker. Cheap to copy. A worker from pool::load is disposed with
/// its last copy; one from pool::get stays cached (and reloads through its
/// loader if it was dropped meanwhile).
class worker {
 public:
  worker() = default;
  /// Calls `export default async function (input, env)`.
  task<call_result> call(boost::json::value input) const;
  /// Calls `export default { async fetch(request, env) }`.
  task<fetch_result> fetch(outbound_request request) const;
  [[nodiscard]] explicit operator bool() const noexcept { return handle_ != nullptr; }

 private:
  friend class pool;
  explicit worker(std::shared_ptr<detail::worker_handle> h) : handle_(std::move(h)) {}
  std::shared_ptr<detail::worker_handle> handle_;
};

class pool {
 public:
  using loader = std::function<task<worker_code>()>;

  explicit pool(runtime& rt, pool_options options = {});
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  /// A one-off worker: compiled and evaluated now, never cached or shared.
  task<worker> load(worker_code code);
  /// The cached worker `id`, loading it with `load()` on a miss (the loader
  /// runs on the caller's shard; a throw is errc::loader_failed).
  task<worker> get(std::string id, loader load);
  /// load(code) then call(input).
  task<call_result> run(worker_code code, boost::json::value input);

  struct statistics {
    std::size_t isolates = 0;         // live isolates over all threads
    std::size_t cached_workers = 0;   // workers of pool::get held now
    std::size_t isolates_created = 0; // since start
    std::size_t isolates_dropped_for_heap = 0;
  };
  [[nodiscard]] statistics stats() const;
  [[nodiscard]] unsigned thread_count() const noexcept;

 private:
  std::shared_ptr<detail::pool_state> state_;
};

}  // namespace cairn::sandbox
