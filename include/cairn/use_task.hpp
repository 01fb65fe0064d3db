#pragma once
/// `cairn::use_task`: an Asio completion token, so any asynchronous operation
/// can be awaited from a task:
///
///   std::size_t n = co_await sock.async_read_some(buf, cairn::use_task);
///
/// A leading error_code that is set is thrown as boost::system::system_error
/// (a leading exception_ptr is rethrown); the remaining arguments become the
/// result: nothing, one value, or a tuple.
#include <coroutine>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <cairn/actor.hpp>

namespace cairn {

struct use_task_t {
  constexpr use_task_t() noexcept = default;
};
inline constexpr use_task_t use_task{};

namespace detail {

template <class... Args>
struct completion_result {
  using type = std::tuple<Args...>;
  static type make(Args&&... a) { return type(std::move(a)...); }
};
template <>
struct completion_result<> {
  using type = void;
};
template <class A>
struct completion_result<A> {
  using type = A;
  static type make(A&& a) { return std::move(a); }
};

template <class... Args>
struct completion_traits : completion_result<Args...> {
  static constexpr bool has_error = false;
};
template <class... Rest>
struct completion_traits<boost::system::error_code, Rest...> : completion_result<Rest...> {
  static constexpr bool has_error = true;
};
template <class... Rest>
struct completion_traits<std::exception_ptr, Rest...> : completion_result<Rest...> {
  static constexpr bool has_error = true;
};

template <class Initiation, class InitArgs, class... Args>
class asio_awaitable {
  using traits = completion_traits<std::decay_t<Args>...>;
  using value_type = typename traits::type;
  using stored = std::conditional_t<std::is_void_v<value_type>, bool, value_type>;

 public:
  asio_awaitable(Initiation init, InitArgs args) : init_(std::move(init)), args_(std::move(args)) {}

  [[nodiscard]] bool await_ready() const noexcept { return false; }

  void await_suspend(std::coroutine_handle<> h) {
    owner_ = suspend_point();
    std::apply(
        [&](auto&&... a) {
          std::move(init_)(handler{this, h}, std::move(a)...);
        },
        std::move(args_));
  }

  value_type await_resume() {
    current_actor = owner_;
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<value_type>) return std::move(*value_);
  }

 private:
  struct handler {
    asio_awaitable* self;
    std::coroutine_handle<> h;
    void operator()(Args... args) {
      self->complete(std::move(args)...);
      h.resume();
      current_actor = nullptr;  // back in the event loop: no actor's code runs
    }
  };

  template <class First, class... Rest>
  void complete_with_error(First&& first, Rest&&... rest) {
    if constexpr (std::is_same_v<std::decay_t<First>, std::exception_ptr>) {
      if (first) {
        error_ = first;
        return;
      }
    } else {
      if (first) {
        error_ = std::make_exception_ptr(boost::system::system_error(first));
        return;
      }
    }
    set(std::move(rest)...);
  }

  template <class... A>
  void set(A&&... a) {
    if constexpr (std::is_void_v<value_type>) {
      value_ = true;
    } else {
      value_.emplace(traits::make(std::move(a)...));
    }
  }

  void complete(Args&&... args) {
    if constexpr (traits::has_error) {
      complete_with_error(std::move(args)...);
    } else {
      set(std::move(args)...);
    }
  }

  Initiation init_;
  InitArgs args_;
  std::exception_ptr error_;
  std::optional<stored> value_;
  actor* owner_ = nullptr;  // whose code awaits (restored as current on resumption)
};

}  // namespace detail
}  // namespace cairn

template <class R, class... Args>
struct boost::asio::async_result<cairn::use_task_t, R(Args...)> {
  template <class Initiation, class... InitArgs>
  static auto initiate(Initiation&& init, cairn::use_task_t, InitArgs&&... args) {
    using args_tuple = std::tuple<std::decay_t<InitArgs>...>;
    return cairn::detail::asio_awaitable<std::decay_t<Initiation>, args_tuple, Args...>(
        std::forward<Initiation>(init), args_tuple(std::forward<InitArgs>(args)...));
  }
};
