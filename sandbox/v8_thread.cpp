#include "v8_thread.hpp"

#include <boost/json/serialize.hpp>

#include <cairn/runtime.hpp>

#include "pool_state.hpp"
#include "watchdog.hpp"

namespace cairn::sandbox::detail {

v8_thread::v8_thread(pool_state& pool, unsigned index) : pool_(pool), index_(index) {
  thread_ = std::thread([this] { main(); });
}

v8_thread::~v8_thread() { stop(); }

watchdog& v8_thread::dog() noexcept { return pool_.dog(); }

bool v8_thread::post(std::function<void()> job) {
  {
    std::lock_guard lock(m_);
    if (stopped_) return false;
    queue_.push_back(std::move(job));
    backlog_.fetch_add(1, std::memory_order_relaxed);
  }
  cv_.notify_one();
  return true;
}

void v8_thread::stop() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void v8_thread::main() {
  pool_.dog().register_thread(index_);
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(m_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        stopped_ = true;  // nothing is taken from here on
        break;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
    backlog_.fetch_sub(1, std::memory_order_relaxed);
  }
  // What still waits on a worker learns that the pool is going away.
  std::vector<std::uint64_t> keys;
  for (const auto& kv : workers_) keys.push_back(kv.first);
  for (auto k : keys) {
    auto it = workers_.find(k);
    if (it == workers_.end()) continue;
    v8::Isolate::Scope scope(it->second->isolate().get());
    it->second->abandon(errc::shut_down, "the sandbox pool is shutting down");
  }
  workers_.clear();
  idle_isolates_.clear();
  pool_.isolates.fetch_sub(isolates_.size());
  isolates_.clear();
}

// ---- jobs --------------------------------------------------------------------------

void v8_thread::do_load(hop& h, worker_code code, const std::string& cache_id) {
  auto refuse = [&](errc c, std::string why) {
    h.error = std::make_exception_ptr(error(c, std::move(why)));
    h.finish();
  };
  if (code.main.empty() || !code.modules.contains(code.main))
    return refuse(errc::invalid_code, "the main module '" + code.main + "' is not among the worker's modules");
  std::size_t code_bytes = 0;
  for (const auto& [name, src] : code.modules) {
    if (name.empty()) return refuse(errc::invalid_code, "a module has an empty name");
    code_bytes += src.size();
  }
  if (code_bytes > code.limits.code_bytes)
    return refuse(errc::code_too_large, "the modules hold " + std::to_string(code_bytes) + " bytes; the limit is " +
                                            std::to_string(code.limits.code_bytes));
  const std::size_t env_bytes = boost::json::serialize(code.env).size();
  if (env_bytes > code.limits.env_bytes)
    return refuse(errc::env_too_large, "env holds " + std::to_string(env_bytes) + " bytes of JSON; the limit is " +
                                           std::to_string(code.limits.env_bytes));
  for (const auto& [name, fn] : code.functions) {
    if (!fn) return refuse(errc::invalid_code, "the host function '" + name + "' is empty");
    if (code.env.contains(name))
      return refuse(errc::invalid_code, "'" + name + "' is both an env value and a host function");
  }
  if (code.limits.wasm && !pool_.options().webassembly)
    return refuse(errc::not_granted, "WebAssembly is off in this pool (pool_options::webassembly), so it cannot be granted");
  for (const auto& [name, grant] : code.actors) {
    if (!grant.call) return refuse(errc::invalid_code, "the actor grant '" + name + "' has no call");
    if (code.env.contains(name) || code.functions.contains(name))
      return refuse(errc::invalid_code, "'" + name + "' is both an actor grant and another env binding");
  }
  const bool one_off = code.tenant.empty() && cache_id.empty();
  isolate_key ik;
  ik.tenant = one_off ? "\x01one-off:" + std::to_string(pool_.one_off_tenants.fetch_add(1))
                      : code.tenant.empty() ? cache_id : code.tenant;
  ik.heap_bytes = code.limits.heap_bytes;
  ik.array_buffer_bytes = code.limits.array_buffer_bytes;
  tenant_isolate& iso = isolate_for(ik, one_off);
  const std::uint64_t key = ++next_key_;
  worker_instance* w = nullptr;
  std::string failure;
  {
    v8::Isolate::Scope scope(iso.get());
    try {
      auto made = std::make_unique<worker_instance>(*this, iso, key, std::move(code));
      w = made.get();
      workers_.emplace(key, std::move(made));
      ++iso.workers;
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (!w) {
    if (iso.workers == 0) drop_isolate(&iso);  // outside its scope: V8 refuses to dispose an entered isolate
    return refuse(errc::invalid_code, failure);
  }
  {
    v8::Isolate::Scope scope(iso.get());
    if (!cache_id.empty()) {
      if (auto old = cached_.find(cache_id); old != cached_.end()) drop_worker(old->second);
      cached_[cache_id] = key;
      cache_id_of_[key] = cache_id;
      lru_.push_back(cache_id);
      lru_pos_[cache_id] = std::prev(lru_.end());
      pool_.cached_workers.fetch_add(1);
      pool_.place(cache_id, index_);
    }
    w->start_load(h);
  }
  tidy(w);
  if (!cache_id.empty() && ++loads_since_budget_ >= 16) {
    loads_since_budget_ = 0;
    enforce_cache_budget();
  }
}

void v8_thread::do_call(hop& h, std::uint64_t key, const std::string& cache_id, boost::json::value input) {
  on_worker(h, key, cache_id, [&](worker_instance& w) { w.start_call(h, std::move(input)); });
}

void v8_thread::do_fetch(hop& h, std::uint64_t key, const std::string& cache_id, outbound_request request) {
  on_worker(h, key, cache_id, [&](worker_instance& w) { w.start_fetch(h, std::move(request)); });
}

template <class Start>
void v8_thread::on_worker(hop& h, std::uint64_t key, const std::string& cache_id, Start&& start) {
  worker_instance* w = find(key, cache_id);
  if (!w) {
    h.missing = true;
    return h.finish();
  }
  {
    v8::Isolate::Scope scope(w->isolate().get());
    start(*w);
  }
  tidy(w);
}

void v8_thread::do_drop(std::uint64_t key) { drop_worker(key); }

void v8_thread::do_expire(std::uint64_t key, std::uint64_t seq) {
  auto it = workers_.find(key);
  if (it == workers_.end()) return;
  worker_instance* w = it->second.get();
  {
    v8::Isolate::Scope scope(w->isolate().get());
    w->expire(seq);
  }
  tidy(w);
}

void v8_thread::arm_deadline(std::uint64_t key, std::uint64_t seq, std::chrono::milliseconds wall) {
  // The watchdog outlives the threads' work (pool_state::shutdown): a raw
  // pointer is safe, and post() refuses once this thread has stopped.
  dog().add_deadline(watchdog::clock::now() + wall, index_, seq,
                     [this, key, seq] { post([this, key, seq] { do_expire(key, seq); }); });
}

bool v8_thread::spawn_on_shard(unsigned shard, task<void> t) {
  try {
    pool_.rt().spawn(std::move(t), shard);
    return true;
  } catch (...) {
    return false;
  }
}

void v8_thread::post_host_reply(std::uint64_t key, std::uint64_t call, worker_instance::host_answer a) {
  post([this, key, call, a = std::move(a)]() mutable {
    auto it = workers_.find(key);
    if (it == workers_.end()) return;
    worker_instance* w = it->second.get();
    {
      v8::Isolate::Scope scope(w->isolate().get());
      w->host_reply(call, std::move(a));
    }
    tidy(w);
  });
}

// ---- workers and isolates ------------------------------------------------------------

worker_instance* v8_thread::find(std::uint64_t key, const std::string& cache_id) {
  if (!cache_id.empty()) {
    auto c = cached_.find(cache_id);
    if (c == cached_.end()) return nullptr;
    key = c->second;
    lru_.splice(lru_.end(), lru_, lru_pos_.at(cache_id));  // most recently used last
  }
  auto it = workers_.find(key);
  return it == workers_.end() ? nullptr : it->second.get();
}

tenant_isolate& v8_thread::isolate_for(const isolate_key& k, bool one_off) {
  const std::string s = k.str();
  if (auto it = isolates_.find(s); it != isolates_.end()) {
    idle_isolates_.remove(it->second.get());
    return *it->second;
  }
  auto made = std::make_unique<tenant_isolate>(k);
  made->one_off = one_off;
  pool_.isolates_created.fetch_add(1);
  pool_.isolates.fetch_add(1);
  return *isolates_.emplace(s, std::move(made)).first->second;
}

void v8_thread::tidy(worker_instance* w) {
  if (!w || !w->broken()) return;
  tenant_isolate* iso = &w->isolate();
  if (!iso->heap_exceeded()) return drop_worker(w->key());
  // The heap of the whole isolate is spent: every worker in it goes, then the
  // isolate with the last of them (drop_worker). (worker_instance counted it.)
  std::vector<std::uint64_t> keys;
  for (const auto& kv : workers_)
    if (&kv.second->isolate() == iso) keys.push_back(kv.first);
  for (auto k : keys) drop_worker(k);
}

void v8_thread::drop_worker(std::uint64_t key) {
  auto it = workers_.find(key);
  if (it == workers_.end()) return;
  worker_instance* w = it->second.get();
  tenant_isolate* iso = &w->isolate();
  {
    v8::Isolate::Scope scope(iso->get());
    if (!w->idle()) w->abandon(errc::worker_reset, "the worker was dropped");
    workers_.erase(it);
  }
  if (auto c = cache_id_of_.find(key); c != cache_id_of_.end()) {
    const std::string id = c->second;
    cache_id_of_.erase(c);
    cached_.erase(id);
    if (auto p = lru_pos_.find(id); p != lru_pos_.end()) {
      lru_.erase(p->second);
      lru_pos_.erase(p);
    }
    pool_.cached_workers.fetch_sub(1);
    pool_.unplace(id, index_);
  }
  if (--iso->workers > 0) return;
  if (iso->one_off || iso->heap_exceeded()) return drop_isolate(iso);
  idle_isolates_.push_back(iso);
  while (idle_isolates_.size() > pool_.options().warm_isolates) drop_isolate(idle_isolates_.front());
}

void v8_thread::drop_isolate(tenant_isolate* iso) {
  idle_isolates_.remove(iso);
  auto it = isolates_.find(iso->key().str());
  if (it != isolates_.end() && it->second.get() == iso) {
    isolates_.erase(it);
    pool_.isolates.fetch_sub(1);
  }
}

void v8_thread::enforce_cache_budget() {
  const std::size_t threads = pool_.thread_count();
  const std::size_t max_workers = std::max<std::size_t>(1, pool_.options().max_cached_workers / threads);
  const std::size_t max_bytes = pool_.options().cache_bytes / threads;
  std::size_t heap = 0;
  for (const auto& kv : isolates_) heap += kv.second->heap_used();
  // Evict idle cached workers, least recently used first; heap figures lag
  // behind (garbage is collected later), so at most a few per round.
  int evicted = 0;
  for (auto it = lru_.begin(); it != lru_.end() && evicted < 8;) {
    if (cached_.size() <= max_workers && heap <= max_bytes) break;
    const std::string id = *it++;
    auto key = cached_.at(id);
    if (!workers_.at(key)->idle()) continue;
    drop_worker(key);
    ++evicted;
    if (heap > max_bytes) heap -= std::min(heap, max_bytes / 16);
  }
}

}  // namespace cairn::sandbox::detail
