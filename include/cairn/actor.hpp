#pragma once
/// `cairn::actor`: the base class of native actors.
///
/// One instance per id, on one shard. Handlers (public member functions, plain
/// or returning task<T>) run one at a time; other events may start only while
/// a handler is suspended at a co_await, unless it is inside
/// block_concurrency_while(). An actor class may define
/// `cairn::task<void> on_start()`: it runs before the first event (and again
/// after every wake-up from hibernation).
#include <cstdint>
#include <type_traits>
#include <utility>

#include <cairn/actor_id.hpp>
#include <cairn/detail/work_item.hpp>
#include <cairn/task.hpp>

namespace cairn {

class runtime;
class storage;
struct alarm_info;
namespace detail {
class shard;
class storage_engine;
struct actor_access;
}  // namespace detail

class actor {
 public:
  /// Takes its id from the activation in progress; actors are created by the
  /// runtime only.
  actor();
  virtual ~actor();
  actor(const actor&) = delete;
  actor& operator=(const actor&) = delete;

  [[nodiscard]] const actor_id& id() const noexcept { return id_; }
  [[nodiscard]] cairn::runtime& runtime() const noexcept;

  /// The actor's own database, opened on first use (see storage.hpp). Only
  /// from the actor's own handlers.
  [[nodiscard]] cairn::storage& storage();

  /// Runs when the alarm set with storage().set_alarm() is due, also after a
  /// restart or a hibernation. If it throws, it is retried with exponential
  /// backoff (2 s, 4 s, ... with up to 25% jitter, at most 6 retries). The
  /// default throws: an actor that sets alarms overrides it.
  virtual task<void> alarm(alarm_info info);

  /// Runs `f()` (a callable returning task<R>) while holding back every other
  /// event for this actor: messages queue until it finishes (or throws).
  template <class F>
  auto block_concurrency_while(F f) -> std::invoke_result_t<F&> {
    using result_task = std::invoke_result_t<F&>;
    static_assert(is_task_v<result_task>, "block_concurrency_while takes a callable returning cairn::task<R>");
    ++blocked_;
    struct unblock_on_exit {
      actor* self;
      ~unblock_on_exit() { self->unblock(); }
    } guard{this};
    co_return co_await f();
  }

 private:
  friend class detail::shard;
  friend struct detail::actor_access;
  friend class detail::storage_engine;

  void unblock() noexcept;

  detail::item_queue mailbox_;
  actor* next_ready_ = nullptr;
  actor_id id_;
  std::uint32_t blocked_ = 0;
  std::uint32_t open_turns_ = 0;  // handlers started and not finished (incl. on_start)
  bool scheduled_ = false;
  bool failed_ = false;         // on_start threw: refuses mail until removed
  bool segment_open_ = false;   // the running segment has written (a savepoint is open)
  bool unflushed_ = false;      // writes not yet durable: output is held
  bool reset_ = false;          // left the directory after a failed commit
  bool idle_linked_ = false;    // in the shard's idle list
  // Hibernation: the shard's list of idle actors, oldest first.
  actor* idle_prev_ = nullptr;
  actor* idle_next_ = nullptr;
  std::int64_t idle_since_ms_ = 0;
  detail::storage_engine* storage_ = nullptr;  // owned; opened by storage()
  cairn::storage* storage_api_ = nullptr;      // owned; the user-facing handle
};

namespace detail {
struct actor_access {
  static bool accepts_inline(const actor& a) noexcept {
    return a.blocked_ == 0 && a.mailbox_.empty() && !a.scheduled_;
  }
  static void unblock(actor& a) noexcept { a.unblock(); }
  static void block(actor& a) noexcept { ++a.blocked_; }
  static bool segment_open(const actor& a) noexcept { return a.segment_open_; }
  static bool unflushed(const actor& a) noexcept { return a.unflushed_; }
  /// A commit of this instance failed: whatever it still produces is void.
  static bool was_reset(const actor& a) noexcept { return a.reset_; }
  static storage_engine* engine(const actor& a) noexcept { return a.storage_; }
};

/// The actor whose code runs on this thread right now (nullptr in root tasks).
/// Set when a handler starts and restored by every awaiter that suspends.
inline thread_local actor* current_actor = nullptr;

/// The error that replaces the output of an instance reset after a failed
/// commit (storage_error, commit_failed).
std::exception_ptr reset_error(const actor& a);

void end_segment_slow(actor& a) noexcept;
void abort_segment_slow(actor& a) noexcept;

/// The running segment of `a` ends at a suspension point or when its handler
/// returns: its writes join the transaction that the next flush commits.
inline void end_segment(actor* a) noexcept {
  if (a && actor_access::segment_open(*a)) end_segment_slow(*a);
}
/// The handler threw: undo the writes of the segment that threw.
inline void abort_segment(actor* a) noexcept {
  if (a && actor_access::segment_open(*a)) abort_segment_slow(*a);
}
/// Marks the suspension of the current actor's code at an await: its segment
/// ends. Returns the actor, to restore as current on resumption.
inline actor* suspend_point() noexcept {
  actor* a = current_actor;
  end_segment(a);
  return a;
}
}  // namespace detail

}  // namespace cairn
