#pragma once
// The unit every shard queue carries: a message for an actor, or a task to run
// (a coroutine to resume, a spawned task to start). Intrusive, so queuing never
// allocates.
#include <cstdint>
#include <exception>

namespace cairn::detail {

enum class op : std::uint8_t {
  run,      // execute (a message on its target_, a task on the shard)
  fail,     // the target could not be activated: complete with the error
  discard,  // the runtime is gone: release without running
};

struct work_item {
  using fn_type = void (*)(work_item*, op, std::exception_ptr);

  enum class kind : std::uint8_t { task, message };

  explicit work_item(fn_type fn, kind k = kind::task) noexcept : fn_(fn), kind_(k) {}

  work_item* next_ = nullptr;
  fn_type fn_;
  kind kind_;
};

/// FIFO of work items owned by one thread.
class item_queue {
 public:
  void push(work_item* w) noexcept {
    w->next_ = nullptr;
    if (tail_) tail_->next_ = w; else head_ = w;
    tail_ = w;
  }
  [[nodiscard]] work_item* pop() noexcept {
    work_item* w = head_;
    if (w) {
      head_ = w->next_;
      if (!head_) tail_ = nullptr;
    }
    return w;
  }
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }

 private:
  work_item* head_ = nullptr;
  work_item* tail_ = nullptr;
};

}  // namespace cairn::detail
