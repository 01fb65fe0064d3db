// cairn::sandbox::pool and worker: the shard side of the sandbox. Requests
// travel to a pool thread in a hop and the caller resumes on its own shard.
#include <cairn/sandbox/pool.hpp>

#include <thread>

#include <cairn/errors.hpp>
#include <cairn/runtime.hpp>

#include "engine.hpp"
#include "hop.hpp"
#include "pool_state.hpp"

namespace cairn::sandbox {

const char* to_string(errc c) noexcept {
  switch (c) {
    case errc::guest_exception: return "guest_exception";
    case errc::syntax_error: return "syntax_error";
    case errc::module_not_found: return "module_not_found";
    case errc::bad_entry_point: return "bad_entry_point";
    case errc::not_serializable: return "not_serializable";
    case errc::cpu_limit: return "cpu_limit";
    case errc::wall_limit: return "wall_limit";
    case errc::heap_limit: return "heap_limit";
    case errc::array_buffer_limit: return "array_buffer_limit";
    case errc::request_limit: return "request_limit";
    case errc::code_too_large: return "code_too_large";
    case errc::env_too_large: return "env_too_large";
    case errc::result_too_large: return "result_too_large";
    case errc::not_granted: return "not_granted";
    case errc::never_settles: return "never_settles";
    case errc::loader_failed: return "loader_failed";
    case errc::worker_reset: return "worker_reset";
    case errc::invalid_code: return "invalid_code";
    case errc::shut_down: return "shut_down";
  }
  return "unknown";
}

bool is_limit(errc c) noexcept {
  switch (c) {
    case errc::cpu_limit:
    case errc::wall_limit:
    case errc::heap_limit:
    case errc::array_buffer_limit:
    case errc::request_limit:
    case errc::code_too_large:
    case errc::env_too_large:
    case errc::result_too_large:
      return true;
    default:
      return false;
  }
}

namespace detail {

bool hop::await_suspend(std::coroutine_handle<> h) {
  h_ = h;
  owner_ = cairn::detail::suspend_point();
  shard_ = cairn::detail::shard::current();
  caller_shard = shard_->index();
  // The job owns `start` (and what it captured): the pool thread may finish()
  // the hop, and the caller free it, while `start` is still running.
  if (!thread.post([this, s = std::move(start)]() mutable { s(*this); })) {
    error = std::make_exception_ptr(sandbox::error(errc::shut_down, "the sandbox pool has shut down"));
    return false;
  }
  return true;
}

void hop::finish() noexcept {
  if (then && !error) {
    // A job of its own: finish() runs deep inside the first step's settling.
    first_console = std::move(console);
    if (thread.post([this, next = std::exchange(then, nullptr)] { next(*this); })) return;
    error = std::make_exception_ptr(sandbox::error(errc::shut_down, "the sandbox pool has shut down"));
  }
  shard_->post_remote(this);
}

// ---- pool_state ------------------------------------------------------------------------

pool_state::pool_state(runtime& rt, pool_options options) : rt_(rt), options_(options) {
  ensure_v8(options_.wasm_max_pages, options_.webassembly);
  const unsigned n = options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  dog_ = std::make_unique<watchdog>(n);
  for (unsigned i = 0; i < n; ++i) threads_.push_back(std::make_unique<v8_thread>(*this, i));
}

pool_state::~pool_state() { shutdown(); }

void pool_state::shutdown() {
  for (auto& t : threads_) t->stop();
  dog_.reset();  // after the threads: their deadlines point at them
}

v8_thread& pool_state::pick() {
  const unsigned start = rr_.fetch_add(1, std::memory_order_relaxed);
  v8_thread* best = nullptr;
  for (unsigned i = 0; i < threads_.size(); ++i) {
    v8_thread* t = threads_[(start + i) % threads_.size()].get();
    if (!best || t->backlog() < best->backlog()) best = t;
  }
  return *best;
}

int pool_state::placed(const std::string& id) {
  std::lock_guard lock(m_);
  auto it = placement_.find(id);
  return it == placement_.end() ? -1 : static_cast<int>(it->second);
}

void pool_state::place(const std::string& id, unsigned thread) {
  std::lock_guard lock(m_);
  placement_[id] = thread;
}

void pool_state::unplace(const std::string& id, unsigned thread) {
  std::lock_guard lock(m_);
  auto it = placement_.find(id);
  if (it != placement_.end() && it->second == thread) placement_.erase(it);
}

using worker_job = std::function<void(hop&, std::uint64_t key, const std::string& cache_id)>;

struct worker_handle {
  std::weak_ptr<pool_state> pool;
  std::atomic<unsigned> thread{0};
  std::uint64_t key = 0;       // one-off workers
  std::string cache_id;        // cached workers
  sandbox::pool::loader loader;
  std::string load_console;    // what the module printed while loading

  ~worker_handle() {
    if (!cache_id.empty()) return;  // the cache keeps it
    if (auto p = pool.lock()) {
      v8_thread& t = p->thread(thread.load());
      t.post([&t, k = key] { t.do_drop(k); });
    }
  }
};

namespace {

void require_shard(const char* what) {
  if (!cairn::detail::shard::current()) throw not_on_shard(what);
}

std::shared_ptr<pool_state> lock(const std::weak_ptr<pool_state>& w) {
  auto p = w.lock();
  if (!p) throw error(errc::shut_down, "the sandbox pool has shut down");
  return p;
}

// Loads `code` on `t` (cached under `cache_id` when not empty); the key.
task<std::uint64_t> load_on(v8_thread& t, worker_code code, std::string cache_id, std::string& console) {
  hop h(t, [c = std::move(code), id = std::move(cache_id)](hop& x) mutable { x.thread.do_load(x, std::move(c), id); });
  co_await h;
  console = std::move(h.console);
  co_return h.worker_key;
}

task<worker_code> call_loader(const sandbox::pool::loader& load) {
  if (!load) throw error(errc::loader_failed, "no loader was given");
  try {
    co_return co_await load();
  } catch (const std::exception& e) {
    throw error(errc::loader_failed, std::string("the loader failed: ") + e.what());
  }
}

// Loads the cached worker `h` again through its loader (it was dropped).
task<void> reload(pool_state& p, worker_handle& h) {
  worker_code code = co_await call_loader(h.loader);
  if (code.tenant.empty()) code.tenant = h.cache_id;
  v8_thread& t = p.pick();
  std::string console;
  co_await load_on(t, std::move(code), h.cache_id, console);
  h.thread.store(t.index());
}

// Runs `job` for the worker of `w` on its thread; a cached worker that was
// dropped meanwhile is reloaded through its loader and tried once more.
task<std::unique_ptr<hop>> deliver(const std::shared_ptr<worker_handle>& w, worker_job job) {
  if (!w) throw error(errc::invalid_code, "an empty worker");
  for (int attempt = 0;; ++attempt) {
    auto p = lock(w->pool);
    auto h = std::make_unique<hop>(p->thread(w->thread.load()),
                                   [&job, key = w->key, id = w->cache_id](hop& x) { job(x, key, id); });
    hop& awaited = *h;  // GCC 12 copies the awaiter of `co_await *h`; a named reference it does not
    co_await awaited;
    if (!h->missing) co_return h;
    if (w->cache_id.empty() || attempt > 0) throw error(errc::worker_reset, "the worker was dropped");
    co_await reload(*p, *w);
  }
}

}  // namespace
}  // namespace detail

// ---- worker ----------------------------------------------------------------------------

task<call_result> worker::call(boost::json::value input) const {
  detail::require_shard("cairn::sandbox::worker::call");
  // A named job: GCC 12 mishandles temporaries built inside a co_await expression.
  detail::worker_job job = [input](detail::hop& x, std::uint64_t key, const std::string& id) {
    x.thread.do_call(x, key, id, input);
  };
  auto h = co_await detail::deliver(handle_, std::move(job));
  call_result r;  // named, not braced in co_return (GCC 12)
  r.value = std::move(h->value);
  r.console = std::move(h->console);
  r.cpu = h->cpu;
  co_return r;
}

task<fetch_result> worker::fetch(outbound_request request) const {
  detail::require_shard("cairn::sandbox::worker::fetch");
  detail::worker_job job = [request](detail::hop& x, std::uint64_t key, const std::string& id) {
    x.thread.do_fetch(x, key, id, request);
  };
  auto h = co_await detail::deliver(handle_, std::move(job));
  fetch_result r;
  r.response = std::move(h->response);
  r.console = std::move(h->console);
  r.cpu = h->cpu;
  co_return r;
}

// ---- pool ------------------------------------------------------------------------------

pool::pool(runtime& rt, pool_options options) : state_(std::make_shared<detail::pool_state>(rt, options)) {}

pool::~pool() {
  if (state_) state_->shutdown();
}

unsigned pool::thread_count() const noexcept { return state_->thread_count(); }

pool::statistics pool::stats() const {
  statistics s;
  s.isolates = state_->isolates.load();
  s.cached_workers = state_->cached_workers.load();
  s.isolates_created = state_->isolates_created.load();
  s.isolates_dropped_for_heap = state_->isolates_dropped_for_heap.load();
  return s;
}

task<worker> pool::load(worker_code code) {
  detail::require_shard("cairn::sandbox::pool::load");
  auto h = std::make_shared<detail::worker_handle>();
  h->pool = state_;
  detail::v8_thread& t = state_->pick();
  h->thread.store(t.index());
  h->key = co_await detail::load_on(t, std::move(code), {}, h->load_console);
  co_return worker(std::move(h));
}

task<worker> pool::get(std::string id, loader load) {
  detail::require_shard("cairn::sandbox::pool::get");
  if (id.empty()) throw error(errc::invalid_code, "a cached worker needs a non-empty id");
  auto h = std::make_shared<detail::worker_handle>();
  h->pool = state_;
  h->cache_id = std::move(id);
  h->loader = std::move(load);
  const int placed = state_->placed(h->cache_id);
  if (placed >= 0) {
    h->thread.store(static_cast<unsigned>(placed));
  } else {
    co_await detail::reload(*state_, *h);
  }
  co_return worker(std::move(h));
}

task<call_result> pool::run(worker_code code, boost::json::value input) {
  detail::require_shard("cairn::sandbox::pool::run");
  // Load and call in one trip to the pool thread; the worker is dropped after.
  detail::v8_thread& t = state_->pick();
  const unsigned thread = t.index();
  const std::weak_ptr<detail::pool_state> pool = state_;  // the pool may go away while this waits
  detail::hop x(t, [c = std::move(code)](detail::hop& x) mutable { x.thread.do_load(x, std::move(c), {}); });
  x.then = [in = std::move(input)](detail::hop& x) mutable { x.thread.do_call(x, x.worker_key, {}, std::move(in)); };
  std::exception_ptr failed;
  try {
    co_await x;
  } catch (error& e) {
    e.set_console(x.first_console + e.console());  // what the load printed comes first
    failed = std::current_exception();
  } catch (...) {
    failed = std::current_exception();
  }
  if (x.worker_key) {
    if (auto p = pool.lock()) {
      detail::v8_thread& owner = p->thread(thread);
      owner.post([&owner, k = x.worker_key] { owner.do_drop(k); });
    }
  }
  if (failed) std::rethrow_exception(failed);
  // Another job between the two steps can drop the worker (its tenant's
  // isolate passed the heap limit).
  if (x.missing) {
    error e(errc::worker_reset, "the worker was dropped before its call");
    e.set_console(x.first_console);
    throw e;
  }
  call_result r;
  r.value = std::move(x.value);
  r.console = x.first_console + x.console;
  r.cpu = x.cpu;
  co_return r;
}

}  // namespace cairn::sandbox
