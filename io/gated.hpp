#pragma once
// Output of the io layer that obeys the running actor's output gate (an HTTP
// body chunk, a WebSocket message): performed now when no write of the actor
// is pending, else held until the write is durable. Private to io/.
#include <exception>
#include <memory>
#include <utility>

#include <coroutine>

#include <cairn/actor.hpp>
#include <cairn/detail/output_gate.hpp>
#include <cairn/detail/shard.hpp>

namespace cairn::http::detail {

/// Calls `run()` now or once the current actor's pending write is durable;
/// calls `fail()` instead if that commit fails or the instance was already
/// reset after a failed commit. Returns false in the latter case.
template <class Run, class Fail>
bool through_output_gate(Run run, Fail fail) {
  using cairn::detail::gate_state;
  switch (cairn::detail::output_gate_now()) {
    case gate_state::open:
      run();
      return true;
    case gate_state::closed:
      fail();
      return false;
    case gate_state::held:
      break;
  }
  struct effect : cairn::detail::work_item {
    effect(Run r, Fail f) : work_item(&perform), run(std::move(r)), fail(std::move(f)) {}
    static void perform(cairn::detail::work_item* w, cairn::detail::op o, std::exception_ptr) {
      std::unique_ptr<effect> self(static_cast<effect*>(w));
      if (o == cairn::detail::op::run) self->run();
      else if (o == cairn::detail::op::fail) self->fail();
    }
    Run run;
    Fail fail;
  };
  auto e = std::make_unique<effect>(std::move(run), std::move(fail));
  if (cairn::detail::gate_output(e.get()) == gate_state::held) {
    e.release();  // the commit runs or fails it
    return true;
  }
  e->run();  // cannot happen on one thread (the state was just read), but stay correct
  return true;
}

/// `if (!co_await output_gate_passed()) ...`: true once the current actor's
/// pending write is durable (at once when none is, or outside actors); false
/// if that commit failed, so the output must not happen. Other events of the
/// actor may run meanwhile (it is an await).
class [[nodiscard]] output_gate_passed : cairn::detail::work_item {
 public:
  output_gate_passed() noexcept : work_item(&perform) {}

  [[nodiscard]] bool await_ready() noexcept {
    state_ = cairn::detail::output_gate_now();
    return state_ != cairn::detail::gate_state::held;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    h_ = h;
    owner_ = cairn::detail::suspend_point();
    state_ = cairn::detail::gate_output(this);
    return state_ == cairn::detail::gate_state::held;  // else go on at once
  }
  bool await_resume() noexcept {
    if (owner_) cairn::detail::current_actor = owner_;
    return state_ == cairn::detail::gate_state::open;
  }

 private:
  // The commit calls this inline: resume in a task of the shard instead.
  static void perform(cairn::detail::work_item* w, cairn::detail::op o, std::exception_ptr) {
    auto* self = static_cast<output_gate_passed*>(w);
    self->state_ = o == cairn::detail::op::run ? cairn::detail::gate_state::open : cairn::detail::gate_state::closed;
    self->fn_ = &resume;
    cairn::detail::shard::current()->post_task(self);
  }
  static void resume(cairn::detail::work_item* w, cairn::detail::op, std::exception_ptr) {
    static_cast<output_gate_passed*>(w)->h_.resume();
  }

  std::coroutine_handle<> h_;
  cairn::actor* owner_ = nullptr;
  cairn::detail::gate_state state_ = cairn::detail::gate_state::open;
};

}  // namespace cairn::http::detail
