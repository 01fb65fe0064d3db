// Alarms on the shard: the schedule of due times, the tick that fires them
// (and hibernates idle actors), and the turn that runs an actor's alarm()
// with retries.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <random>

#include <cairn/actor.hpp>
#include <cairn/detail/detached.hpp>
#include <cairn/detail/runtime_core.hpp>
#include <cairn/storage.hpp>

#include "shard_internals.hpp"
#include "storage/storage_engine.hpp"

namespace cairn::detail {

void report_unhandled(const actor_id& id, std::exception_ptr e) noexcept;

namespace {

constexpr std::uint32_t max_alarm_retries = 6;
constexpr std::int64_t first_retry_ms = 2000;

// 2 s, 4 s, 8 s, ... plus up to 25% jitter, so that many failing actors do
// not retry in step.
std::int64_t retry_delay_ms(std::uint32_t retry) {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  std::int64_t base = first_retry_ms << retry;
  std::uniform_int_distribution<std::int64_t> jitter(0, base / 4);
  return base + jitter(rng);
}

/// The message that runs an actor's alarm as one of its turns.
struct alarm_op final : message {
  explicit alarm_op(const actor_id& id) : message(&on_item, id) {}

  static void on_item(work_item* w, op o, std::exception_ptr e) {
    auto* self = static_cast<alarm_op*>(w);
    switch (o) {
      case op::run:
        run(self);
        break;
      case op::fail:  // the actor could not be activated; the index entry stays for the next start
        report_unhandled(self->id_, std::move(e));
        shard::current()->root_finished();
        delete self;
        break;
      case op::discard:
        delete self;
        break;
    }
  }

  static detached run(alarm_op* self) {
    shard* s = shard::current();
    actor& a = *self->target_;
    std::optional<stored_alarm> due;
    try {
      (void)a.storage();
      storage_engine& e = *actor_access::engine(a);
      due = e.read_alarm();
      if (due && due->at_ms > s->now_ms()) {  // moved later since it was scheduled
        s->schedule_alarm(a.id(), due->at_ms);
        due.reset();
      }
      if (due) {
        std::exception_ptr err;
        try {
          co_await a.alarm(alarm_info{std::chrono::system_clock::time_point(std::chrono::milliseconds(due->at_ms)),
                                      due->retry});
          end_segment(&a);
        } catch (...) {
          abort_segment(&a);
          err = std::current_exception();
        }
        auto now = e.read_alarm();
        if (now && now->at_ms == due->at_ms && now->retry == due->retry) {  // the handler did not set another
          if (!err) {
            e.write_alarm(std::nullopt);
          } else if (due->retry < max_alarm_retries) {
            e.write_alarm(stored_alarm{s->now_ms() + retry_delay_ms(due->retry), due->retry + 1});
          } else {
            e.write_alarm(std::nullopt);
          }
        }
        end_segment(&a);
        if (err) report_unhandled(a.id(), err);
      }
    } catch (...) {
      abort_segment(&a);
      report_unhandled(a.id(), std::current_exception());
    }
    s->end_turn(a);
    s->root_finished();
    delete self;
  }
};

struct tick_item final : work_item {
  tick_item() : work_item(&on_item) {}
  static void on_item(work_item* w, op o, std::exception_ptr) {
    if (o == op::run) shard::current()->tick();
    delete static_cast<tick_item*>(w);
  }
};

}  // namespace

void post_tick(shard& s) { s.post_remote(new tick_item()); }

void shard::schedule_alarm(const actor_id& id, std::int64_t at_ms) {
  actor_key key{id.ns()->index, id.value()};
  auto [it, fresh] = alarms_->at.emplace(key, at_ms);
  if (!fresh) {
    alarms_->due.erase({it->second, key});
    it->second = at_ms;
  }
  alarms_->due.emplace(at_ms, key);
  if (current() == this && (timer_due_ms_ == 0 || at_ms < timer_due_ms_)) arm_tick_timer();
}

void shard::unschedule_alarm(const actor_id& id) noexcept {
  actor_key key{id.ns()->index, id.value()};
  auto it = alarms_->at.find(key);
  if (it == alarms_->at.end()) return;
  alarms_->due.erase({it->second, key});
  alarms_->at.erase(it);
}

void shard::tick() {
  refresh_now();
  while (!alarms_->due.empty() && alarms_->due.begin()->first <= now_ms_) {
    actor_key key = alarms_->due.begin()->second;
    alarms_->due.erase(alarms_->due.begin());
    alarms_->at.erase(key);
    auto* m = new alarm_op(actor_id(core_.namespace_at(key.ns), key.value));
    m->root_ = true;
    root_created();
    deliver(m);
  }
  if (!hibernation_posted_) hibernate_idle();
}

void shard::hibernate_idle() {
  // Each eviction tears an object down and closes its database: about half
  // a millisecond for a JS actor. When a thousand actors went idle together,
  // evicting them in one go held up every other actor of the shard for
  // hundreds of milliseconds. A manual clock (tests) evicts all at once, so
  // that what advance() makes due is done when the tick is.
  hibernation_posted_ = false;
  const auto timeout = core_.options().idle_timeout.count();
  auto expired = [&] { return idle_head_ && now_ms_ - idle_head_->idle_since_ms_ >= timeout; };
  const bool sliced = !core_.clock().is_manual();
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
  for (unsigned n = 1; expired(); ++n) {
    evict(*idle_head_);
    if (sliced && n % 4 == 0 && expired() && std::chrono::steady_clock::now() >= until) {
      hibernation_posted_ = true;
      boost::asio::post(*io_, [this] {
        refresh_now();
        hibernate_idle();
      });
      return;
    }
  }
}

void shard::arm_tick_timer() {
  if (core_.clock().is_manual()) return;  // ticks come with every advance()
  const std::int64_t sweep = std::clamp<std::int64_t>(core_.options().idle_timeout.count() / 4, 10, 1000);
  std::int64_t due = now_ms_ + sweep;
  if (!alarms_->due.empty()) due = std::min(due, alarms_->due.begin()->first);
  timer_due_ms_ = due;
  tick_timer_->timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, due - now_ms_)));
  tick_timer_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: re-armed or stopping
    timer_due_ms_ = 0;
    tick();
    arm_tick_timer();
  });
}

}  // namespace cairn::detail
