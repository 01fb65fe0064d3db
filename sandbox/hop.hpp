#pragma once
// The awaitable that carries one request of a shard's coroutine to a pool
// thread and brings the answer back: the coroutine suspends, `start` runs on
// the pool thread, which fills the fields and calls finish(); the coroutine
// resumes on its own shard. Private to sandbox/.
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>

#include <boost/json/value.hpp>

#include <cairn/actor.hpp>
#include <cairn/detail/shard.hpp>
#include <cairn/sandbox/fetch_policy.hpp>

namespace cairn::sandbox::detail {

class v8_thread;

struct hop : cairn::detail::work_item {
  hop(v8_thread& t, std::function<void(hop&)> s) : work_item(&perform), thread(t), start(std::move(s)) {}
  // The pool thread answers into this very object: a copy would lose the answer.
  hop(const hop&) = delete;
  hop& operator=(const hop&) = delete;

  // ---- answer (written by the pool thread before finish()) ----
  std::exception_ptr error;
  boost::json::value value;
  outbound_response response;
  std::string console;
  std::chrono::microseconds cpu{0};
  std::uint64_t worker_key = 0;
  bool missing = false;  // a cached worker was not there (dropped meanwhile)
  std::string first_console;  // what the first step printed, when there is a `then`

  // ---- the awaiting side ----
  v8_thread& thread;
  std::function<void(hop&)> start;  // moved into the pool thread's job by await_suspend
  /// A second step on the pool thread once `start`'s step succeeded (a call
  /// after a load): one trip to the pool for both.
  std::function<void(hop&)> then;
  unsigned caller_shard = 0;

  bool await_ready() const noexcept { return false; }
  /// False (go on at once, with errc::shut_down) if the thread no longer takes work.
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() {
    if (owner_) cairn::detail::current_actor = owner_;
    if (error) std::rethrow_exception(error);
  }
  /// Pool thread: the answer is complete; resume the caller on its shard
  /// (or go on with `then`).
  void finish() noexcept;

 private:
  static void perform(cairn::detail::work_item* w, cairn::detail::op o, std::exception_ptr) {
    // op::discard: the runtime is gone and with it the caller's shard.
    if (o != cairn::detail::op::discard) static_cast<hop*>(w)->h_.resume();
  }
  std::coroutine_handle<> h_;
  cairn::actor* owner_ = nullptr;
  cairn::detail::shard* shard_ = nullptr;
};

}  // namespace cairn::sandbox::detail
