#include <cairn/actor.hpp>

#include <stdexcept>

#include <cairn/detail/runtime_core.hpp>
#include <cairn/runtime.hpp>
#include <cairn/storage.hpp>

#include "storage/storage_engine.hpp"

namespace cairn {

namespace detail {
struct storage_access {
  static cairn::storage* make(std::unique_ptr<storage_engine> e) { return new cairn::storage(std::move(e)); }
};
}  // namespace detail

actor::actor() {
  const actor_id* id = detail::activation_context::current;
  if (!id)
    throw std::logic_error("cairn: actors are created by the runtime when a message reaches them, not directly");
  id_ = *id;
}

actor::~actor() { delete storage_api_; }

cairn::runtime& actor::runtime() const noexcept { return id_.ns()->core->owner(); }

cairn::storage& actor::storage() {
  if (!storage_api_) {
    detail::shard* s = detail::shard::current();
    if (!s || &s->core() != id_.ns()->core) throw not_on_shard("actor::storage()");
    auto engine = std::make_unique<detail::storage_engine>(*this, *s, id_.ns()->durability);
    storage_ = engine.get();
    storage_api_ = detail::storage_access::make(std::move(engine));
  }
  return *storage_api_;
}

task<void> actor::alarm(alarm_info) {
  throw std::logic_error("cairn: " + id_.namespace_name() +
                         " set an alarm but does not override cairn::actor::alarm(alarm_info)");
  co_return;
}

void actor::unblock() noexcept {
  if (--blocked_ == 0 && !mailbox_.empty() && !scheduled_) detail::shard::current()->schedule(*this);
}

}  // namespace cairn
