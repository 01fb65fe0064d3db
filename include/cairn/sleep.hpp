#pragma once
/// `co_await cairn::sleep_for(d)`: suspends on the calling shard's timer.
/// Other events of the actor may run meanwhile (it is an await).
#include <chrono>
#include <coroutine>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include <cairn/actor.hpp>
#include <cairn/detail/shard.hpp>
#include <cairn/errors.hpp>

namespace cairn {

class [[nodiscard]] sleep_awaitable {
 public:
  explicit sleep_awaitable(std::chrono::steady_clock::duration d) noexcept : d_(d) {}

  [[nodiscard]] bool await_ready() const noexcept { return d_ <= std::chrono::steady_clock::duration::zero(); }
  void await_suspend(std::coroutine_handle<> h) {
    auto* s = detail::shard::current();
    if (!s) throw not_on_shard("sleep_for");
    timer_.emplace(s->io(), d_);
    timer_->async_wait([h](const boost::system::error_code&) {
      h.resume();
      detail::current_actor = nullptr;  // back in the event loop: no actor's code runs
    });
    owner_ = detail::suspend_point();
  }
  void await_resume() const noexcept { detail::current_actor = owner_; }

 private:
  std::chrono::steady_clock::duration d_;
  std::optional<boost::asio::steady_timer> timer_;
  actor* owner_ = nullptr;  // whose code awaits (restored as current on resumption)
};

template <class Rep, class Period>
sleep_awaitable sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
  return sleep_awaitable(std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
}

}  // namespace cairn
