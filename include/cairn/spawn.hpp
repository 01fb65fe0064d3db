#pragma once
/// `cairn::spawn(t)`: runs a task detached on the calling shard. The runtime
/// waits for it at a graceful stop; an exception that escapes it goes to the
/// runtime's unhandled-error hook.
#include <cairn/task.hpp>

namespace cairn {

/// Throws not_on_shard when called outside the runtime (use runtime::spawn there).
void spawn(task<void> t);

}  // namespace cairn
