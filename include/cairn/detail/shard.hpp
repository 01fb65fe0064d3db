#pragma once
// One shard: a thread with its own io_context, the actors whose ids hash to it,
// their mailboxes, and the queue other threads use to reach it. Everything but
// post_remote() runs on the shard's own thread only, so none of it locks.
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#include <cairn/actor_id.hpp>
#include <cairn/detail/mpsc_queue.hpp>
#include <cairn/detail/work_item.hpp>

namespace boost::asio {
class io_context;
}
struct sqlite3;

namespace cairn {
class actor;
}

namespace cairn::detail {

class runtime_core;
class storage_engine;
struct message;

class shard {
 public:
  shard(runtime_core& core, std::uint32_t index);
  ~shard();
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  /// The shard whose thread is calling, or nullptr.
  [[nodiscard]] static shard* current() noexcept { return current_; }

  [[nodiscard]] std::uint32_t index() const noexcept { return index_; }
  [[nodiscard]] runtime_core& core() const noexcept { return core_; }
  [[nodiscard]] boost::asio::io_context& io() noexcept { return *io_; }

  // ---- owner thread only ----
  /// Puts a message into its target's mailbox, activating the target first
  /// if it is not resident.
  void deliver(message* m);
  /// The resident actor with this id, or nullptr. Never activates.
  [[nodiscard]] actor* find(const actor_id& id) noexcept;
  /// Runs `w` on this shard after the current event.
  void post_task(work_item* w) noexcept { tasks_.push(w); }
  /// Makes the actor's mailbox run (it has mail and is not blocked).
  void schedule(actor& a) noexcept;
  /// A message or task that the runtime must see finish before a graceful
  /// stop completes (termination detection; see runtime_core::quiescent).
  void root_created() noexcept { bump(roots_created_); }
  void root_finished() noexcept { bump(roots_finished_); }
  [[nodiscard]] std::uint64_t resident_actors() const noexcept;

  // ---- turns, the output gate, hibernation (owner thread; residency.cpp) ----
  /// A handler of `a` starts (or on_start); it is not idle until it ends.
  void begin_turn(actor& a) noexcept;
  /// A handler of `a` ended; an actor with nothing left to do becomes idle.
  void end_turn(actor& a) noexcept;
  /// Holds the reply `m` of actor `a` until a's writes are durable.
  void hold_reply(actor& a, message* m);
  /// Wall time in ms, as the runtime's clock read it at the start of this pass.
  [[nodiscard]] std::int64_t now_ms() const noexcept { return now_ms_; }
  /// An engine whose transaction the end of this pass must commit.
  void add_dirty(storage_engine* e) { dirty_.push_back(e); }
  void remove_dirty(storage_engine* e) noexcept;
  /// The newest epoch of this shard whose group sync is still awaited and
  /// that holds output of actor `id` (0: none). A new instance of that actor
  /// (after a reset) reads what those commits wrote, so it waits for it too.
  [[nodiscard]] std::uint64_t awaited_epoch(const actor_id& id) const noexcept;
  /// Some epoch of this shard still awaits its group sync.
  [[nodiscard]] bool sync_awaited() const noexcept { return last_epoch_ != synced_epoch_; }
  /// In-memory databases outlive their actor's hibernation here.
  void keep_memory_db(const actor_id& id, sqlite3* db);
  [[nodiscard]] sqlite3* take_memory_db(const actor_id& id) noexcept;
  [[nodiscard]] bool has_memory_db(const actor_id& id) const noexcept;
  /// Before a database file opens: closes those of the least recently used
  /// idle actors while the shard is at its budget (runtime_core::database_budget).
  void database_opening() noexcept;
  void database_opened() noexcept { ++open_databases_; }
  void database_closed() noexcept { --open_databases_; }
  [[nodiscard]] std::size_t open_databases() const noexcept { return open_databases_; }

  // ---- alarms (owner thread, or before the threads start; alarms.cpp) ----
  void schedule_alarm(const actor_id& id, std::int64_t at_ms);
  void unschedule_alarm(const actor_id& id) noexcept;
  /// Fires due alarms and hibernates actors idle for too long.
  void tick();

  // ---- any thread ----
  void post_remote(work_item* w) noexcept;
  /// Wakes the loop if it sleeps (the group sync has outcomes for it).
  void notify() noexcept { wake(); }
  [[nodiscard]] std::uint64_t roots_created() const noexcept {
    return roots_created_.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::uint64_t roots_finished() const noexcept {
    return roots_finished_.load(std::memory_order_acquire);
  }

  // ---- lifecycle (runtime_core) ----
  void start_thread();
  void request_exit() noexcept;
  void join() noexcept;

 private:
  struct directory;
  struct alarm_schedule;
  struct memory_dbs;
  static void bump(std::atomic<std::uint64_t>& c) noexcept {
    // Single writer: a plain increment published with release.
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  void thread_main();
  bool pump();
  void run_mailbox(actor& a);
  void route(work_item* w);
  actor* activate(message* m);
  void wake() noexcept;
  void shutdown_actors() noexcept;
  void unschedule(actor& a) noexcept;
  // Commits every dirty engine; releases (or fails) the output it held, or
  // hands it to the pass's epoch, which the group sync makes durable.
  void flush() noexcept;
  // Applies the group sync's outcomes: releases (or fails) what their epochs held.
  void release_synced() noexcept;
  struct release_entry;
  struct sync_batches;
  // Runs what `r` held and applies its alarm change (its commit is durable).
  void release(release_entry& r);
  void fail_entry(release_entry& r, const std::exception_ptr& err);
  // The sync of `epoch` returned: an actor that awaited nothing newer is
  // free of the output gate again.
  void after_sync(const actor_id& id, std::uint64_t epoch);
  // Alarms deleted by released commits leave the node's alarm index.
  void drop_index_removals() noexcept;
  void reset_actor(actor& a) noexcept;
  void link_idle(actor& a) noexcept;
  void unlink_idle(actor& a) noexcept;
  void maybe_idle(actor& a) noexcept;
  void evict(actor& a) noexcept;
  // Deletes actors marked for it, and enforces the resident cap, between passes.
  void collect() noexcept;
  void arm_tick_timer();
  // Evicts actors idle past the idle timeout, about a millisecond's worth at
  // a time; the rest go on after the events that arrived meanwhile.
  void hibernate_idle();
  void refresh_now() noexcept;

  static inline thread_local shard* current_ = nullptr;

  runtime_core& core_;
  std::uint32_t index_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<directory> dir_;
  item_queue tasks_;
  actor* ready_head_ = nullptr;
  actor* ready_tail_ = nullptr;
  // Idle resident actors, least recently used first.
  actor* idle_head_ = nullptr;
  actor* idle_tail_ = nullptr;
  // The idle actors from the head up to this one hold no open database file
  // (an actor reopens its file only in a turn, which takes it off the list):
  // database_opening() looks for a file to close after it, so that at the
  // budget each open does not walk every idle actor whose file is closed.
  actor* closed_upto_ = nullptr;
  std::vector<actor*> graveyard_;          // to delete between passes
  std::vector<storage_engine*> dirty_;     // to commit at the end of the pass
  std::vector<storage_engine*> flushing_;  // dirty_ being committed (buffer reused)
  std::unique_ptr<sync_batches> syncs_;    // output of committed epochs, until their group sync
  std::uint64_t last_epoch_ = 0;           // the newest epoch handed to the group sync
  std::uint64_t synced_epoch_ = 0;         // every epoch up to it is released (or failed)
  std::unique_ptr<alarm_schedule> alarms_;
  std::unique_ptr<memory_dbs> memory_dbs_;
  struct tick_timer;
  std::unique_ptr<tick_timer> tick_timer_;
  std::size_t open_databases_ = 0;  // database files open (memory ones not counted)
  std::int64_t now_ms_ = 0;
  std::int64_t timer_due_ms_ = 0;
  bool need_collect_ = false;      // the resident cap may be exceeded  // when the armed tick timer fires (0: not armed)
  bool hibernation_posted_ = false;  // hibernate_idle() goes on in a posted handler
  std::thread thread_;
  std::atomic<bool> exit_{false};

  mpsc_queue inbox_;
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> wake_posted_{false};
  alignas(64) std::atomic<std::uint64_t> roots_created_{0};
  std::atomic<std::uint64_t> roots_finished_{0};
};

/// A work item addressed to an actor.
struct message : work_item {
  message(fn_type fn, const actor_id& id) noexcept : work_item(fn, kind::message), id_(id) {}
  actor_id id_;
  actor* target_ = nullptr;  // set when it enters the target's mailbox
  bool root_ = false;        // counts toward termination detection
};

/// Sends `m` toward its target from whatever thread is calling: directly into
/// the mailbox on the same shard, through the target shard's queue otherwise.
/// From outside the runtime it counts as a root and throws runtime_stopped
/// once the runtime stops taking work.
void dispatch(message* m, bool root);

}  // namespace cairn::detail
