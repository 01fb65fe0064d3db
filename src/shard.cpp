// The shard loop: drain the cross-shard queue, run local tasks and actor
// mailboxes, poll I/O; spin briefly when idle, then sleep in io_uring.
#include <unistd.h>
#include <cairn/detail/shard.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <chrono>
#include <cstring>
#include <vector>

#include <cairn/actor.hpp>
#include <cairn/detail/detached.hpp>
#include <cairn/detail/runtime_core.hpp>
#include <cairn/errors.hpp>
#include <cairn/runtime.hpp>

#include "shard_internals.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CAIRN_CPU_RELAX() _mm_pause()
#else
#define CAIRN_CPU_RELAX() ((void)0)
#endif

namespace cairn::detail {

shard::shard(runtime_core& core, std::uint32_t index)
    : core_(core), index_(index), io_(std::make_unique<boost::asio::io_context>(1)),
      dir_(std::make_unique<directory>()), syncs_(std::make_unique<sync_batches>()),
      alarms_(std::make_unique<alarm_schedule>()), memory_dbs_(std::make_unique<memory_dbs>()),
      tick_timer_(std::make_unique<tick_timer>(*io_)) {}

shard::~shard() {
  // Items that never ran (the runtime was destroyed without being started).
  while (work_item* w = inbox_.pop()) w->fn_(w, op::discard, {});
}

actor* shard::find(const actor_id& id) noexcept {
  auto& m = dir_->by_namespace[id.ns()->index];
  auto it = m.find(id.value());
  return it == m.end() ? nullptr : it->second;
}

std::uint64_t shard::resident_actors() const noexcept {
  std::uint64_t n = 0;
  for (auto& m : dir_->by_namespace) n += m.size();
  return n;
}

namespace {

std::string actor_name(const actor_id& id) { return id.namespace_name() + "/" + id.to_string(); }

// Runs on_start(); on failure every queued message fails and the actor goes.
detached start_actor(shard* s, actor* a, task<void> (*start)(actor&), void (*on_failure)(shard*, actor*, std::exception_ptr)) {
  std::exception_ptr err;
  s->begin_turn(*a);
  current_actor = a;
  try {
    co_await start(*a);
  } catch (...) {
    err = std::current_exception();
  }
  if (err) {
    abort_segment(a);
    on_failure(s, a, err);
  } else {
    end_segment(a);
    actor_access::unblock(*a);
    s->end_turn(*a);
  }
}

}  // namespace

void shard::deliver(message* m) {
  actor* a = find(m->id_);
  if (!a) {
    a = activate(m);
    if (!a) return;
    m->target_ = a;
    a->mailbox_.push(m);
    if (auto start = m->id_.ns()->start) {
      a->blocked_ = 1;
      // on_start runs as `a` until it first suspends; the sender's code
      // continues afterwards and must find itself current again.
      struct restore_current {
        actor* saved = current_actor;
        ~restore_current() { current_actor = saved; }
      } restore;
      start_actor(this, a, start, [](shard* s, actor* a, std::exception_ptr err) {
        auto e = std::make_exception_ptr(
            activation_error("cairn: on_start() of " + actor_name(a->id_) + " failed: " + describe(err), err));
        s->dir_->by_namespace[a->id_.ns()->index].erase(a->id_.value());
        s->unschedule(*a);
        while (work_item* w = a->mailbox_.pop()) w->fn_(w, op::fail, e);
        a->failed_ = true;
        s->graveyard_.push_back(a);
      });
      return;
    }
  } else {
    m->target_ = a;
    a->mailbox_.push(m);
    if (a->idle_linked_) unlink_idle(*a);
  }
  if (!a->scheduled_ && a->blocked_ == 0) schedule(*a);
}

void shard::unschedule(actor& a) noexcept {
  if (!a.scheduled_) return;
  actor** p = &ready_head_;
  actor* prev = nullptr;
  while (*p && *p != &a) {
    prev = *p;
    p = &(*p)->next_ready_;
  }
  if (*p) {
    *p = a.next_ready_;
    if (ready_tail_ == &a) ready_tail_ = prev;
  }
  a.scheduled_ = false;
}

actor* shard::activate(message* m) {
  const namespace_state* ns = m->id_.ns();
  actor* a = nullptr;
  activation_context::current = &m->id_;
  try {
    a = ns->create();
  } catch (...) {
    activation_context::current = nullptr;
    auto cause = std::current_exception();
    m->fn_(m, op::fail,
           std::make_exception_ptr(activation_error(
               "cairn: constructing " + actor_name(m->id_) + " failed: " + describe(cause), cause)));
    return nullptr;
  }
  activation_context::current = nullptr;
  dir_->by_namespace[ns->index].emplace(m->id_.value(), a);
  return a;
}

void shard::schedule(actor& a) noexcept {
  a.scheduled_ = true;
  a.next_ready_ = nullptr;
  if (ready_tail_) ready_tail_->next_ready_ = &a; else ready_head_ = &a;
  ready_tail_ = &a;
}

void shard::run_mailbox(actor& a) {
  a.scheduled_ = false;
  for (int budget = 64; budget > 0; --budget) {
    if (a.blocked_ != 0) return;  // unblock() reschedules
    work_item* w = a.mailbox_.pop();
    if (!w) return;
    begin_turn(a);
    current_actor = &a;
    w->fn_(w, op::run, {});
    current_actor = nullptr;
  }
  if (!a.mailbox_.empty() && a.blocked_ == 0 && !a.scheduled_) schedule(a);
}

void shard::route(work_item* w) {
  if (w->kind_ == work_item::kind::message) {
    deliver(static_cast<message*>(w));
  } else {
    w->fn_(w, op::run, {});  // resumes a caller, which restores its actor
    current_actor = nullptr;
  }
}

bool shard::pump() {
  bool any = false;
  for (int round = 0; round < 16; ++round) {
    bool did = false;
    for (int i = 0; i < 1024; ++i) {
      work_item* w = inbox_.pop();
      if (!w) break;
      route(w);
      did = true;
    }
    for (int i = 0; i < 1024; ++i) {
      work_item* w = tasks_.pop();
      if (!w) break;
      current_actor = nullptr;  // a root task starts outside every actor
      w->fn_(w, op::run, {});
      current_actor = nullptr;  // nor may a resumed caller's actor leak into what follows
      did = true;
    }
    for (int i = 0; i < 1024 && ready_head_; ++i) {
      actor* a = ready_head_;
      ready_head_ = a->next_ready_;
      if (!ready_head_) ready_tail_ = nullptr;
      run_mailbox(*a);
      did = true;
    }
    if (!did) break;
    any = true;
  }
  return any;
}

void shard::post_remote(work_item* w) noexcept {
  inbox_.push(w);
  wake();
}

void shard::wake() noexcept {
  if (sleeping_.load(std::memory_order_seq_cst) && !wake_posted_.exchange(true, std::memory_order_acq_rel))
    boost::asio::post(*io_, [] {});
}

void shard::start_thread() {
  dir_->by_namespace.resize(core_.namespace_count());
  thread_ = std::thread([this] { thread_main(); });
}

void shard::request_exit() noexcept {
  exit_.store(true, std::memory_order_release);
  boost::asio::post(*io_, [] {});
}

void shard::join() noexcept {
  if (thread_.joinable()) thread_.join();
}

void shard::thread_main() {
  current_ = this;
  if (core_.syncer()) core_.syncer()->bind_thread();  // this thread's WAL records go with its epochs
  auto guard = boost::asio::make_work_guard(*io_);
  const auto spin = core_.options().idle_spin;
  auto has_local_work = [this] { return !tasks_.empty() || ready_head_ != nullptr; };
  auto synced = [this] { return sync_awaited() && core_.syncer()->has_outcomes(index_); };

  unsigned busy_rounds = 0;
  tick();  // alarms that fell due while the process was down
  arm_tick_timer();
  while (!exit_.load(std::memory_order_acquire)) {
    bool did = pump();
    current_actor = nullptr;
    if (!dirty_.empty()) {
      flush();
      did = true;
      // Nothing else to run: syncing here costs no turn a wait, and spares
      // the hand-over to the sync thread and back.
      if (sync_awaited() && !has_local_work() && !inbox_.maybe_nonempty() && core_.syncer()->sync_here(index_))
        release_synced();
    }
    if (synced()) {
      release_synced();
      did = true;
    }
    if (!graveyard_.empty() || need_collect_) collect();
    if (did) refresh_now();
    // While messages flow, let I/O in every few rounds (polling takes a lock).
    if (!did || ++busy_rounds % 8 == 0) {
      if (io_->poll() > 0) did = true;
    }
    if (did) continue;

    // Idle: poll for a short while before paying for a kernel sleep and wake-up.
    // A handler the poll ran counts as work: it may have run a turn inline
    // (a request for an idle local actor) whose writes wait for the flush at
    // the top of the loop, and their reply with them. Going to sleep instead
    // held that reply until some timer woke the shard (the HTTP sweep, every
    // 250 ms): at low load most requests waited for it.
    bool work = false;
    const auto deadline = std::chrono::steady_clock::now() + spin;
    for (unsigned i = 1; !work; ++i) {
      CAIRN_CPU_RELAX();
      if (inbox_.maybe_nonempty() || has_local_work() || synced()) work = true;
      else if (i % 64 == 0) {
        if (io_->poll() > 0) work = true;
        else if (std::chrono::steady_clock::now() >= deadline) break;
      }
    }
    if (work || has_local_work()) continue;

    // Announce the sleep, then look once more: a producer either sees the
    // flag and posts a wake-up, or its item is seen here (both seq_cst).
    // A wake-up posted earlier and not consumed only causes a spurious return.
    wake_posted_.store(false, std::memory_order_seq_cst);
    sleeping_.store(true, std::memory_order_seq_cst);
    if (inbox_.maybe_nonempty() || synced() || exit_.load(std::memory_order_acquire)) {
      sleeping_.store(false, std::memory_order_relaxed);
      continue;
    }
    io_->run_one();
    sleeping_.store(false, std::memory_order_relaxed);
    refresh_now();
  }
  tick_timer_->timer.cancel();
  shutdown_actors();
  if (core_.syncer()) core_.syncer()->unbind_thread();
  guard.reset();
  current_ = nullptr;
  recycling_allocator::release_thread_cache();
}

void shard::shutdown_actors() noexcept {
  flush();  // what finished before the stop is made durable and answered
  if (sync_awaited()) {
    core_.syncer()->wait_for(index_, last_epoch_);
    release_synced();
  }
  while (work_item* w = inbox_.pop()) w->fn_(w, op::discard, {});
  while (work_item* w = tasks_.pop()) w->fn_(w, op::discard, {});
  for (auto& m : dir_->by_namespace) {
    for (auto& [key, a] : m) {
      while (work_item* w = a->mailbox_.pop()) w->fn_(w, op::discard, {});
      delete a;
    }
    m.clear();
  }
  for (actor* a : graveyard_) delete a;
  graveyard_.clear();
  ready_head_ = ready_tail_ = nullptr;
  idle_head_ = idle_tail_ = closed_upto_ = nullptr;
}

}  // namespace cairn::detail
