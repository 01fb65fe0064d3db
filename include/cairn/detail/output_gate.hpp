#pragma once
// The output gate for effects other than messages (an HTTP body chunk, later
// WebSocket frames): what the current actor sends after a write waits until
// that write is durable (DESIGN.md 4).
#include <cairn/detail/work_item.hpp>

namespace cairn::detail {

enum class gate_state {
  open,    // no write pending (or no actor runs): perform the effect now
  held,    // held: the commit runs w (op::run), or fails it (op::fail)
  closed,  // the current actor instance was reset after a failed commit: drop it
};

/// What gate_output would answer now, without taking anything (so that an
/// effect is allocated only when it must wait).
[[nodiscard]] gate_state output_gate_now() noexcept;

/// Offers the effect `w` to the current actor's gate. Only with `held` does
/// the gate take `w`; otherwise the caller still owns it.
[[nodiscard]] gate_state gate_output(work_item* w);

}  // namespace cairn::detail
