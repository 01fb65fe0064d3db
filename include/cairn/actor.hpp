#pragma once
/// `cairn::actor`: the base class of native actors.
///
/// One instance per id, on one shard. Handlers (public member functions, plain
/// or returning task<T>) run one at a time; other events may start only while
/// a handler is suspended at a co_await, unless it is inside
/// block_concurrency_while(). An actor class may define
/// `cairn::task<void> on_start()`: it runs before the first event.
#include <cstdint>
#include <type_traits>
#include <utility>

#include <cairn/actor_id.hpp>
#include <cairn/detail/work_item.hpp>
#include <cairn/task.hpp>

namespace cairn {

class runtime;
namespace detail {
class shard;
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

  void unblock() noexcept;

  detail::item_queue mailbox_;
  actor* next_ready_ = nullptr;
  actor_id id_;
  std::uint32_t blocked_ = 0;
  bool scheduled_ = false;
  bool failed_ = false;  // on_start threw: refuses mail until removed
};

namespace detail {
struct actor_access {
  static bool accepts_inline(const actor& a) noexcept {
    return a.blocked_ == 0 && a.mailbox_.empty() && !a.scheduled_;
  }
  static void unblock(actor& a) noexcept { a.unblock(); }
};
}  // namespace detail

}  // namespace cairn
