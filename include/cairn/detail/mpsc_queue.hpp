#pragma once
// Intrusive lock-free multi-producer single-consumer queue (Vyukov's design):
// one exchange per push, no allocation. Carries cross-shard messages.
#include <atomic>

#include <cairn/detail/work_item.hpp>

namespace cairn::detail {

class mpsc_queue {
 public:
  mpsc_queue() noexcept : stub_(nullptr), head_(&stub_), tail_(&stub_) {}
  mpsc_queue(const mpsc_queue&) = delete;
  mpsc_queue& operator=(const mpsc_queue&) = delete;

  /// Any thread.
  void push(work_item* w) noexcept {
    link(w).store(nullptr, std::memory_order_relaxed);
    work_item* prev = tail_.exchange(w, std::memory_order_seq_cst);
    link(prev).store(w, std::memory_order_release);
  }

  /// Consumer only. May return nullptr while a producer is half-way through a
  /// push; `maybe_nonempty()` stays true then, so the consumer does not sleep.
  [[nodiscard]] work_item* pop() noexcept {
    work_item* head = head_;
    work_item* next = link(head).load(std::memory_order_acquire);
    if (head == &stub_) {
      if (!next) return nullptr;
      head_ = next;
      head = next;
      next = link(next).load(std::memory_order_acquire);
    }
    if (next) {
      head_ = next;
      return head;
    }
    if (tail_.load(std::memory_order_acquire) != head) return nullptr;
    push(&stub_);
    next = link(head).load(std::memory_order_acquire);
    if (next) {
      head_ = next;
      return head;
    }
    return nullptr;
  }

  /// Consumer only.
  [[nodiscard]] bool maybe_nonempty() const noexcept {
    return head_ != &stub_ || tail_.load(std::memory_order_seq_cst) != &stub_;
  }

 private:
  static std::atomic_ref<work_item*> link(work_item* w) noexcept {
    return std::atomic_ref<work_item*>(w->next_);
  }

  work_item stub_;
  alignas(64) work_item* head_;
  alignas(64) std::atomic<work_item*> tail_;
};

}  // namespace cairn::detail
