#include <cairn/runtime.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <stdexcept>

#include <cairn/detail/detached.hpp>
#include <cairn/detail/output_gate.hpp>
#include <cairn/errors.hpp>
#include <cairn/spawn.hpp>

namespace cairn {

namespace detail {

void hold_output(actor& from, message* m);     // residency.cpp
void hold_effect(actor& from, work_item* w);  // residency.cpp

void dispatch(message* m, bool root) {
  m->root_ = root;
  runtime_core& core = *m->id_.ns()->core;
  shard& target = core.shard_for(m->id_);
  shard* cur = shard::current();
  if (cur && &cur->core() == &core) {
    if (root) cur->root_created();
    if (actor* from = current_actor; from && actor_access::unflushed(*from)) {
      hold_output(*from, m);  // the output gate: sent once the sender's writes are durable
      return;
    }
    if (actor* from = current_actor; from && actor_access::was_reset(*from)) {
      m->fn_(m, op::fail, reset_error(*from));  // an instance whose commit failed sends nothing
      return;
    }
    if (&target == cur) {
      cur->deliver(m);
    } else {
      target.post_remote(m);
    }
    return;
  }
  m->root_ = true;
  if (!core.try_external_root()) {
    m->fn_(m, op::discard, {});
    throw runtime_stopped();
  }
  target.post_remote(m);
}

gate_state output_gate_now() noexcept {
  actor* from = current_actor;
  if (!from || !shard::current()) return gate_state::open;
  if (actor_access::unflushed(*from)) return gate_state::held;
  return actor_access::was_reset(*from) ? gate_state::closed : gate_state::open;
}

gate_state gate_output(work_item* w) {
  const gate_state s = output_gate_now();
  if (s == gate_state::held) hold_effect(*current_actor, w);
  return s;
}

void report_unhandled(const actor_id& id, std::exception_ptr e) noexcept {
  std::string context;
  try {
    context = "a handler of " + id.namespace_name() + "/" + id.to_string();
  } catch (...) {
  }
  id.ns()->core->report_unhandled(std::move(e), context);
}

namespace {

detached drive_root(task<void> t) {
  std::exception_ptr err;
  try {
    co_await t;
  } catch (...) {
    err = std::current_exception();
  }
  shard* s = shard::current();
  if (err) s->core().report_unhandled(err, "a spawned task");
  s->root_finished();
}

// Carries a spawned task to another shard.
struct spawn_item final : work_item {
  explicit spawn_item(task<void> t) : work_item(&on_item), t_(std::move(t)) {}
  static void on_item(work_item* w, op o, std::exception_ptr) {
    auto* self = static_cast<spawn_item*>(w);
    if (o == op::run) drive_root(std::move(self->t_));
    delete self;
  }
  task<void> t_;
};

}  // namespace

void spawn_root(task<void> t) {
  shard* s = shard::current();
  s->root_created();
  drive_root(std::move(t));
}

}  // namespace detail

void spawn(task<void> t) {
  if (!detail::shard::current()) throw not_on_shard("cairn::spawn");
  detail::spawn_root(std::move(t));
}

struct runtime::signal_handling {
  explicit signal_handling(boost::asio::io_context& io) : signals(io, SIGINT, SIGTERM) {}
  boost::asio::signal_set signals;
};

runtime::runtime(runtime_options options) : core_(std::make_unique<detail::runtime_core>(*this, std::move(options))) {}

runtime::~runtime() {
  stop();
  core_->wait_and_join();
}

void runtime::start() { core_->start(); }

void runtime::refuse_on_own_shard(const char* what) const {
  auto* cur = detail::shard::current();
  if (cur && &cur->core() == core_.get())
    throw std::logic_error(std::string("cairn: runtime::") + what +
                           " blocks its thread and cannot be called from one of the runtime's own shards");
}

void runtime::run() {
  refuse_on_own_shard("run");
  core_->start();
  core_->wait_and_join();
}

void runtime::stop() noexcept { core_->request_stop(); }

void runtime::stop_on_signals() {
  if (signals_) return;
  if (core_->started()) throw std::logic_error("cairn: call stop_on_signals() before the runtime starts");
  signals_ = std::make_unique<signal_handling>(core_->shard_at(0).io());
  signals_->signals.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) stop();
  });
}

void runtime::spawn(task<void> t, unsigned shard_index) { post_root(std::move(t), shard_index); }

void runtime::post_root(task<void> t, unsigned shard_index) {
  if (shard_index >= core_->shard_count())
    throw std::out_of_range("cairn: shard " + std::to_string(shard_index) + " does not exist (the runtime has " +
                            std::to_string(core_->shard_count()) + ")");
  auto& target = core_->shard_at(shard_index);
  detail::shard* cur = detail::shard::current();
  if (cur == &target) {
    detail::spawn_root(std::move(t));
    return;
  }
  auto* item = new detail::spawn_item(std::move(t));
  if (cur && &cur->core() == core_.get()) {
    cur->root_created();
  } else if (!core_->try_external_root()) {
    delete item;
    throw runtime_stopped();
  }
  target.post_remote(item);
}

void runtime::throw_no_namespace(std::string_view name) {
  throw std::invalid_argument("cairn: no namespace '" + std::string(name) + "' of that actor class is registered");
}

}  // namespace cairn
