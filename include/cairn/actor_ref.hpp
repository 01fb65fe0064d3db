#pragma once
/// `cairn::actor_ref<T>`: a typed address of an actor, cheap to copy and safe
/// to pass in messages.
///
///   int n = co_await ref.call(&counter::add, 5);   // result or exception
///   ref.send(&counter::add, 1);                      // one-way
///
/// Arguments are copied (decayed) into the message, so references never cross
/// shards. Calls from the same shard to an idle actor whose handler is a plain
/// function run inline, without queuing.
#include <coroutine>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <cairn/actor.hpp>
#include <cairn/actor_id.hpp>
#include <cairn/detail/detached.hpp>
#include <cairn/detail/namespace_state.hpp>
#include <cairn/detail/runtime_core.hpp>
#include <cairn/detail/shard.hpp>
#include <cairn/task.hpp>

namespace cairn {

namespace detail {

template <class R>
struct unwrap_task {
  using type = R;
};
template <class U>
struct unwrap_task<task<U>> {
  using type = U;
};

void report_unhandled(const actor_id& id, std::exception_ptr e) noexcept;
[[nodiscard]] bool on_shard_of(const actor_id& id) noexcept;

/// The part of a message that knows the method and its arguments.
template <class T, class M, class... Args>
struct invocation {
  using raw_result = std::invoke_result_t<M, T&, Args&&...>;
  static constexpr bool is_coroutine = is_task_v<raw_result>;
  using value_type = typename unwrap_task<raw_result>::type;

  template <class... A>
  invocation(M m, A&&... a) : method_(m), args_(std::forward<A>(a)...) {}

  raw_result invoke(actor& target) {
    return std::apply(
        [&](Args&... a) -> raw_result {
          return std::invoke(method_, static_cast<T&>(target), std::move(a)...);
        },
        args_);
  }

  M method_;
  std::tuple<Args...> args_;
};

/// `ref.call(...)`: an awaitable that is also the message (no allocation).
template <class T, class M, class... Args>
class call_op final : public message {
  using inv = invocation<T, M, Args...>;

 public:
  using value_type = typename inv::value_type;

  template <class... A>
  call_op(const actor_id& id, M m, A&&... a)
      : message(&on_item, id), inv_(m, std::forward<A>(a)...) {}
  call_op(call_op&& o) noexcept(std::is_nothrow_move_constructible_v<inv>)
      : message(&on_item, o.id_), inv_(std::move(o.inv_)) {}
  call_op(const call_op&) = delete;
  call_op& operator=(const call_op&) = delete;

  bool await_ready() {
    shard* cur = shard::current();
    if (cur && &cur->core() == id_.ns()->core && &cur->core().shard_for(id_) == cur) {
      actor* from = current_actor;
      if (from && actor_access::unflushed(*from)) return false;  // the output gate holds this call
      actor* a = cur->find(id_);
      if (a && actor_access::accepts_inline(*a)) {
        target_ = a;
        if constexpr (!inv::is_coroutine) {
          cur->begin_turn(*a);
          current_actor = a;
          invoke_into_result();
          current_actor = from;
          if (actor_access::unflushed(*a)) {
            held_inline_ = true;  // the reply waits for the target's commit
            return false;
          }
          cur->end_turn(*a);
          return true;
        }
      }
    }
    return false;
  }

  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) {
    caller_ = caller;
    owner_ = suspend_point();
    shard* cur = shard::current();
    if constexpr (!inv::is_coroutine) {
      if (held_inline_) {
        caller_shard_ = cur;
        hold_until_commit(cur, *target_);
        return std::noop_coroutine();
      }
    }
    if constexpr (inv::is_coroutine) {
      if (target_) {  // same shard, idle target: start the handler right here
        cur->begin_turn(*target_);
        current_actor = target_;
        try {
          handler_ = inv_.invoke(*target_);
        } catch (...) {
          abort_segment(target_);
          cur->end_turn(*target_);
          current_actor = owner_;
          result_.set_exception(std::current_exception());
          return caller;
        }
        hook_.fn = &on_inline_handler_done;
        hook_.self_ = this;
        handler_.handle().promise().continuation_ = caller;
        handler_.handle().promise().hook_ = &hook_;
        return handler_.handle();
      }
    }
    caller_shard_ = (cur && &cur->core() == id_.ns()->core) ? cur : nullptr;
    dispatch(this, caller_shard_ == nullptr);
    return std::noop_coroutine();
  }

  value_type await_resume() {
    current_actor = owner_;
    if constexpr (inv::is_coroutine) {
      if (handler_.valid()) return handler_.handle().promise().take();
    }
    return result_.take();
  }

 private:
  struct hook_slot : final_hook {
    call_op* self_ = nullptr;
    call_op* self() const noexcept { return self_; }
  };

  void invoke_into_result() {
    try {
      if constexpr (std::is_void_v<value_type>) {
        inv_.invoke(*target_);
        result_.set_value();
      } else {
        result_.set_value(inv_.invoke(*target_));
      }
      end_segment(target_);
    } catch (...) {
      abort_segment(target_);
      result_.set_exception(std::current_exception());
    }
  }

  // The handler started inline finished: hand the result straight to the
  // caller, unless the target wrote and its reply must wait for the commit.
  static std::coroutine_handle<> on_inline_handler_done(final_hook* h) noexcept {
    call_op* self = static_cast<hook_slot*>(h)->self();
    actor* t = self->target_;
    if (self->handler_.handle().promise().failed()) abort_segment(t); else end_segment(t);
    shard* cur = shard::current();
    if (actor_access::unflushed(*t)) {
      self->caller_shard_ = cur;
      self->hold_until_commit(cur, *t);
      return std::noop_coroutine();
    }
    if (actor_access::was_reset(*t)) {  // its turn outlived a failed commit
      self->handler_ = {};
      self->result_.set_exception(reset_error(*t));
    }
    cur->end_turn(*t);
    current_actor = self->owner_;
    return self->caller_;
  }

  static detached drive(call_op* self) {
    try {
      if constexpr (std::is_void_v<value_type>) {
        co_await self->inv_.invoke(*self->target_);
        self->result_.set_value();
      } else {
        self->result_.set_value(co_await self->inv_.invoke(*self->target_));
      }
      end_segment(self->target_);
    } catch (...) {
      abort_segment(self->target_);
      self->result_.set_exception(std::current_exception());
    }
    self->complete();
  }

  // On the target's shard, once the result is in: the turn ends, and the
  // reply goes to the caller now or, if the target wrote, after its commit.
  void complete() noexcept {
    shard* cur = shard::current();
    if (actor* t = target_) {
      if (actor_access::unflushed(*t)) {
        hold_until_commit(cur, *t);
        return;
      }
      if (actor_access::was_reset(*t)) result_.set_exception(reset_error(*t));  // its turn outlived a failed commit
      cur->end_turn(*t);
    }
    release();
  }

  // The target wrote in this turn: its reply waits in the output gate, and
  // the turn ends.
  void hold_until_commit(shard* cur, actor& target) {
    fn_ = &on_held_reply;
    cur->hold_reply(target, this);
    cur->end_turn(target);
  }

  void release() noexcept {
    shard* cur = shard::current();
    if (root_) cur->root_finished();
    fn_ = &on_resume;
    kind_ = kind::task;  // from now on it resumes the caller: never route it to an actor
    if (caller_shard_ == nullptr) {
      caller_.resume();  // caller is outside the runtime: it continues here
    } else if (caller_shard_ == cur) {
      cur->post_task(this);
    } else {
      caller_shard_->post_remote(this);
    }
  }

  static void on_item(work_item* w, op o, std::exception_ptr e) {
    auto* self = static_cast<call_op*>(w);
    switch (o) {
      case op::run:
        if constexpr (inv::is_coroutine) {
          drive(self);
        } else {
          self->invoke_into_result();
          self->complete();
        }
        break;
      case op::fail:  // never ran: no turn to end
        self->result_.set_exception(std::move(e));
        self->release();
        break;
      case op::discard:
        break;  // the caller's frame owns this object
    }
  }

  // A reply held by the output gate: released after the commit, or turned
  // into the commit's error.
  static void on_held_reply(work_item* w, op o, std::exception_ptr e) {
    auto* self = static_cast<call_op*>(w);
    if (o == op::discard) return;
    if (o == op::fail) {
      if constexpr (inv::is_coroutine) {
        if (self->handler_.valid()) self->handler_ = {};  // its result is void now
      }
      self->result_.set_exception(std::move(e));
    }
    self->release();
  }

  static void on_resume(work_item* w, op o, std::exception_ptr) {
    if (o == op::run) static_cast<call_op*>(w)->caller_.resume();
  }

  inv inv_;
  result_slot<value_type> result_;
  [[no_unique_address]] std::conditional_t<inv::is_coroutine, task<value_type>, std::monostate> handler_;
  std::coroutine_handle<> caller_;
  shard* caller_shard_ = nullptr;
  actor* owner_ = nullptr;  // the actor whose code awaits this call (restored on resumption)
  [[no_unique_address]] std::conditional_t<inv::is_coroutine, hook_slot, std::monostate> hook_;
  bool held_inline_ = false;
};

/// `ref.send(...)`: a heap message that frees itself once handled.
template <class T, class M, class... Args>
class send_op final : public message {
  using inv = invocation<T, M, Args...>;

 public:
  template <class... A>
  send_op(const actor_id& id, M m, A&&... a)
      : message(&on_item, id), inv_(m, std::forward<A>(a)...) {}

  static void* operator new(std::size_t size) { return recycling_allocator::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    recycling_allocator::deallocate(p, size);
  }

 private:
  void finish() noexcept {
    shard::current()->root_finished();
    delete this;
  }

  void end_turn() noexcept {
    shard::current()->end_turn(*target_);
    finish();
  }

  static detached drive(send_op* self) {
    try {
      co_await self->inv_.invoke(*self->target_);
      end_segment(self->target_);
    } catch (...) {
      abort_segment(self->target_);
      report_unhandled(self->id_, std::current_exception());
    }
    self->end_turn();
  }

  static void on_item(work_item* w, op o, std::exception_ptr e) {
    auto* self = static_cast<send_op*>(w);
    switch (o) {
      case op::run:
        if constexpr (inv::is_coroutine) {
          drive(self);
        } else {
          try {
            self->inv_.invoke(*self->target_);
            end_segment(self->target_);
          } catch (...) {
            abort_segment(self->target_);
            report_unhandled(self->id_, std::current_exception());
          }
          self->end_turn();
        }
        break;
      case op::fail:
        report_unhandled(self->id_, std::move(e));
        self->finish();
        break;
      case op::discard:
        delete self;
        break;
    }
  }

  inv inv_;
};

}  // namespace detail

template <class T>
class actor_ref {
 public:
  actor_ref() noexcept = default;
  explicit actor_ref(const actor_id& id) noexcept : id_(id) {}

  [[nodiscard]] const actor_id& id() const noexcept { return id_; }
  [[nodiscard]] bool valid() const noexcept { return id_.valid(); }

  /// Calls `method` on the actor; `co_await` it for the result (exceptions
  /// thrown by the handler are rethrown here).
  template <class M, class... A>
    requires std::is_member_function_pointer_v<M> &&
             std::is_invocable_v<M, T&, std::decay_t<A>&&...>
  [[nodiscard]] auto call(M method, A&&... args) const {
    return detail::call_op<T, M, std::decay_t<A>...>(id_, method, std::forward<A>(args)...);
  }

  /// One-way message; an exception in its handler goes to the runtime's
  /// unhandled-error hook.
  template <class M, class... A>
    requires std::is_member_function_pointer_v<M> &&
             std::is_invocable_v<M, T&, std::decay_t<A>&&...>
  void send(M method, A&&... args) const {
    auto* m = new detail::send_op<T, M, std::decay_t<A>...>(id_, method, std::forward<A>(args)...);
    detail::dispatch(m, true);
  }

  friend bool operator==(const actor_ref& a, const actor_ref& b) noexcept { return a.id_ == b.id_; }

 private:
  actor_id id_;
};

/// A reference to an actor from inside it: `cairn::ref_of(*this)`.
template <class T>
  requires std::is_base_of_v<actor, T>
[[nodiscard]] actor_ref<T> ref_of(const T& self) noexcept {
  return actor_ref<T>(self.id());
}

}  // namespace cairn
