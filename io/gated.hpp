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
#include <cairn/detail/output_gate_passed.hpp>
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

using cairn::detail::output_gate_passed;

}  // namespace cairn::http::detail
