#pragma once
// A fire-and-forget coroutine: starts at once, frees itself when it ends. Its
// body must catch everything (the runtime's drivers do).
#include <coroutine>
#include <exception>
#include <utility>
#include <variant>

#include <cairn/detail/recycling_allocator.hpp>

namespace cairn::detail {

struct detached {
  struct promise_type {
    static void* operator new(std::size_t size) { return recycling_allocator::allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept {
      recycling_allocator::deallocate(p, size);
    }
    detached get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };
};

/// Holds a result or the exception that replaced it.
template <class T>
class result_slot {
 public:
  template <class U>
  void set_value(U&& v) { value_.template emplace<1>(std::forward<U>(v)); }
  void set_exception(std::exception_ptr e) noexcept { value_.template emplace<2>(std::move(e)); }
  T take() {
    if (value_.index() == 2) std::rethrow_exception(std::get<2>(value_));
    return std::move(std::get<1>(value_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> value_;
};

template <>
class result_slot<void> {
 public:
  void set_value() noexcept {}
  void set_exception(std::exception_ptr e) noexcept { error_ = std::move(e); }
  void take() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

}  // namespace cairn::detail
