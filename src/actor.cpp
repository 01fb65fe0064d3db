#include <cairn/actor.hpp>

#include <stdexcept>

#include <cairn/detail/runtime_core.hpp>
#include <cairn/runtime.hpp>

namespace cairn {

actor::actor() {
  const actor_id* id = detail::activation_context::current;
  if (!id)
    throw std::logic_error("cairn: actors are created by the runtime when a message reaches them, not directly");
  id_ = *id;
}

actor::~actor() = default;

cairn::runtime& actor::runtime() const noexcept { return id_.ns()->core->owner(); }

void actor::unblock() noexcept {
  if (--blocked_ == 0 && !mailbox_.empty() && !scheduled_) detail::shard::current()->schedule(*this);
}

}  // namespace cairn
