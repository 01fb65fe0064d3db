#pragma once
/// `co_await cairn::when_all(a, b, ...)`: runs tasks (or any awaitables, such
/// as calls) concurrently and waits for all of them. The result is a tuple
/// (std::monostate for void); with a vector of task<T>, a vector of T. If any
/// failed, the first failure in argument order is rethrown after all ended.
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cairn/detail/detached.hpp>
#include <cairn/task.hpp>

namespace cairn {

/// Wraps any awaitable (a call, for instance) in a task, e.g. to collect
/// calls in a vector for when_all.
template <class A>
auto as_task(A a) -> task<decltype(std::declval<A&>().await_resume())> {
  co_return co_await std::move(a);
}
template <class T>
task<T> as_task(task<T> t) noexcept {
  return t;
}

namespace detail {

struct join_latch {
  explicit join_latch(std::size_t n) noexcept : count(n + 1) {}
  void arrive() noexcept {
    if (count.fetch_sub(1, std::memory_order_acq_rel) == 1) waiter.resume();
  }
  std::atomic<std::size_t> count;
  std::coroutine_handle<> waiter;
};

template <class T>
detached join_child(task<T>& t, result_slot<T>& slot, join_latch& latch) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await t;
      slot.set_value();
    } else {
      slot.set_value(co_await t);
    }
  } catch (...) {
    slot.set_exception(std::current_exception());
  }
  latch.arrive();
}

template <class Start>
struct join_awaiter {
  join_latch& latch;
  Start start;
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    latch.waiter = h;
    start();
    return latch.count.fetch_sub(1, std::memory_order_acq_rel) != 1;
  }
  void await_resume() const noexcept {}
};

template <class T>
using joined_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
joined_t<T> take_joined(result_slot<T>& s) {
  if constexpr (std::is_void_v<T>) {
    s.take();
    return {};
  } else {
    return s.take();
  }
}

template <class... Ts>
task<std::tuple<joined_t<Ts>...>> join_all(task<Ts>... ts) {
  std::tuple<task<Ts>...> tasks(std::move(ts)...);
  std::tuple<result_slot<Ts>...> slots;
  join_latch latch(sizeof...(Ts));
  auto start = [&] {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (join_child(std::get<I>(tasks), std::get<I>(slots), latch), ...);
    }(std::index_sequence_for<Ts...>{});
  };
  co_await join_awaiter<decltype(start)>{latch, start};
  co_return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<joined_t<Ts>...>(take_joined(std::get<I>(slots))...);
  }(std::index_sequence_for<Ts...>{});
}

}  // namespace detail

template <class... A>
auto when_all(A... awaitables) {
  return detail::join_all(as_task(std::move(awaitables))...);
}

template <class T>
task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> when_all(std::vector<task<T>> tasks) {
  std::vector<detail::result_slot<T>> slots(tasks.size());
  detail::join_latch latch(tasks.size());
  auto start = [&] {
    for (std::size_t i = 0; i < tasks.size(); ++i) detail::join_child(tasks[i], slots[i], latch);
  };
  co_await detail::join_awaiter<decltype(start)>{latch, start};
  if constexpr (std::is_void_v<T>) {
    for (auto& s : slots) s.take();
  } else {
    std::vector<T> out;
    out.reserve(slots.size());
    for (auto& s : slots) out.push_back(s.take());
    co_return out;
  }
}

}  // namespace cairn
