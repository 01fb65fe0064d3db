#pragma once
/// `cairn::task<T>`: a lazy coroutine. It starts when awaited, hands control
/// to its awaiter by symmetric transfer when it finishes (no stack growth), and
/// rethrows its exception in the awaiter. Frames come from per-thread free
/// lists, not the global allocator.
#include <coroutine>
#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include <cairn/detail/recycling_allocator.hpp>

namespace cairn {

template <class T = void>
class task;

namespace detail {

/// Lets whoever started a task see it finish before its awaiter resumes
/// (the runtime uses it to hold a reply behind the output gate).
struct final_hook {
  std::coroutine_handle<> (*fn)(final_hook* self) noexcept;
};

struct promise_base {
  static void* operator new(std::size_t size) { return recycling_allocator::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    recycling_allocator::deallocate(p, size);
  }

  struct final_awaiter {
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      auto& p = h.promise();
      if (p.hook_) [[unlikely]]
        return p.hook_->fn(p.hook_);
      return p.continuation_;
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }

  std::coroutine_handle<> continuation_ = std::noop_coroutine();
  final_hook* hook_ = nullptr;
};

template <class T>
struct task_promise final : promise_base {
  task<T> get_return_object() noexcept;
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
  template <class U>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    result_.template emplace<1>(std::forward<U>(v));
  }
  [[nodiscard]] bool failed() const noexcept { return result_.index() == 2; }
  T take() {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::move(std::get<1>(result_));
  }
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <>
struct task_promise<void> final : promise_base {
  task<void> get_return_object() noexcept;
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void return_void() const noexcept {}
  [[nodiscard]] bool failed() const noexcept { return error_ != nullptr; }
  void take() const {
    if (error_) std::rethrow_exception(error_);
  }
  std::exception_ptr error_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
  static_assert(!std::is_reference_v<T>, "task<T&> is not supported: return a pointer or a value");

 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;
  using handle_type = std::coroutine_handle<promise_type>;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }
  [[nodiscard]] bool done() const noexcept { return !h_ || h_.done(); }

  struct awaiter {
    handle_type h;
    [[nodiscard]] bool await_ready() const noexcept { return !h || h.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
      h.promise().continuation_ = caller;
      return h;
    }
    T await_resume() {
      if (!h) throw std::logic_error("cairn::task: awaiting an empty task");
      return h.promise().take();
    }
  };
  awaiter operator co_await() & noexcept { return awaiter{h_}; }
  awaiter operator co_await() && noexcept { return awaiter{h_}; }

  /// Gives up ownership of the frame (used by spawn and the runtime).
  [[nodiscard]] handle_type release() noexcept { return std::exchange(h_, {}); }
  [[nodiscard]] handle_type handle() const noexcept { return h_; }

 private:
  void destroy() noexcept {
    if (h_) h_.destroy();
  }
  handle_type h_;
};

template <class T>
task<T> detail::task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> detail::task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

/// True for cairn::task<U>.
template <class T>
inline constexpr bool is_task_v = false;
template <class U>
inline constexpr bool is_task_v<task<U>> = true;

}  // namespace cairn
