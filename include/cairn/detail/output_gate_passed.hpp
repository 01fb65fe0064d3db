#pragma once
// An await on the output gate: a coroutine of an actor that must not act
// before its writes are durable (an outbound request, storage.sync() of a JS
// actor) waits here; other events of the actor may run meanwhile.
#include <coroutine>
#include <exception>

#include <cairn/actor.hpp>
#include <cairn/detail/output_gate.hpp>
#include <cairn/detail/shard.hpp>

namespace cairn::detail {

/// `if (!co_await output_gate_passed()) ...`: true once the current actor's
/// pending write is durable (at once when none is, or outside actors); false
/// if that commit failed, so the output must not happen. Other events of the
/// actor may run meanwhile (it is an await).
class [[nodiscard]] output_gate_passed : work_item {
 public:
  output_gate_passed() noexcept : work_item(&perform) {}

  [[nodiscard]] bool await_ready() noexcept {
    state_ = output_gate_now();
    return state_ != gate_state::held;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    h_ = h;
    owner_ = suspend_point();
    state_ = gate_output(this);
    return state_ == gate_state::held;  // else go on at once
  }
  bool await_resume() noexcept {
    if (owner_) current_actor = owner_;
    return state_ == gate_state::open;
  }

 private:
  // The commit calls this inline: resume in a task of the shard instead.
  static void perform(work_item* w, op o, std::exception_ptr) {
    auto* self = static_cast<output_gate_passed*>(w);
    self->state_ = o == op::run ? gate_state::open : gate_state::closed;
    self->fn_ = &resume;
    shard::current()->post_task(self);
  }
  static void resume(work_item* w, op, std::exception_ptr) {
    static_cast<output_gate_passed*>(w)->h_.resume();
  }

  std::coroutine_handle<> h_;
  cairn::actor* owner_ = nullptr;
  gate_state state_ = gate_state::open;
};

}  // namespace cairn::detail
