#pragma once
// A queue that producers on any thread fill and one consumer task on one
// shard drains, waiting without blocking its loop: a push posts the waiting
// coroutine back to its shard's io_context. It ends normally (finish: the
// consumer still gets what is queued) or abruptly (fail). Private to io/.
#include <coroutine>
#include <deque>
#include <mutex>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cairn/actor.hpp>

namespace cairn::http::detail {

/// What a queued chunk weighs against cross_shard_queue::bound (ADL finds
/// the overload of other item types).
inline std::size_t queued_bytes(const std::string& s) noexcept { return s.size(); }

template <class T>
class cross_shard_queue {
 public:
  enum class event { item, end, aborted };

  // ---- producers (any thread) ----
  /// False (and the item is dropped) once the queue ended or the consumer left.
  bool push(T item) {
    std::unique_lock lock(mutex_);
    if (finished_ || failed_ || gone_) return false;
    const std::size_t w = queued_bytes(item);
    if (bound_ != 0 && !queue_.empty() && bytes_ + w > bound_) {
      overflowed_ = failed_ = true;  // the consumer cannot keep up: end it rather than grow
      queue_.clear();
      bytes_ = 0;
      wake(lock);
      return false;
    }
    bytes_ += w;
    queue_.push_back(std::move(item));
    wake(lock);
    return true;
  }
  /// No more items: the consumer gets the end after what is queued.
  void finish() {
    std::unique_lock lock(mutex_);
    if (finished_ || failed_) return;
    finished_ = true;
    wake(lock);
  }
  /// Ends at once: the consumer gets `aborted` next.
  void fail() {
    std::unique_lock lock(mutex_);
    if (failed_) return;
    failed_ = true;
    wake(lock);
  }
  [[nodiscard]] bool accepting() const {
    std::lock_guard lock(mutex_);
    return !finished_ && !failed_ && !gone_;
  }

  /// Bounds the bytes waiting for the consumer: a push past it ends the
  /// queue as fail() does and overflowed() turns true. One item alone always
  /// fits. 0 (the default): no bound.
  void bound(std::size_t max_bytes) {
    std::lock_guard lock(mutex_);
    bound_ = max_bytes;
  }
  [[nodiscard]] bool overflowed() const {
    std::lock_guard lock(mutex_);
    return overflowed_;
  }

  // ---- the consumer (its shard) ----
  /// The consumer stops reading: producers learn it from push().
  void consumer_gone() {
    std::lock_guard lock(mutex_);
    gone_ = true;
    queue_.clear();
    bytes_ = 0;
  }

  /// Whether an item waits already (the consumer then knows more follows).
  [[nodiscard]] bool has_queued() const {
    std::lock_guard lock(mutex_);
    return !queue_.empty();
  }

  struct next_awaitable {
    cross_shard_queue& q;
    boost::asio::io_context& io;
    T& out;
    event result = event::end;
    bool taken = false;

    bool await_ready() {
      std::lock_guard lock(q.mutex_);
      if (!q.ready()) return false;
      result = q.take(out);
      taken = true;
      return true;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard lock(q.mutex_);
      if (q.ready()) {  // arrived in between
        result = q.take(out);
        taken = true;
        return false;
      }
      q.waiter_ = h;
      q.waiter_io_ = &io;
      return true;
    }
    event await_resume() {
      if (taken) return result;
      std::lock_guard lock(q.mutex_);  // woken: something is ready
      return q.take(out);
    }
  };
  /// Waits for the next item (into `out`), the end, or an abort; resumes on `io`.
  next_awaitable next(boost::asio::io_context& io, T& out) { return next_awaitable{*this, io, out}; }

 private:
  [[nodiscard]] bool ready() const noexcept { return !queue_.empty() || finished_ || failed_; }
  event take(T& out) {
    if (failed_) return event::aborted;
    if (queue_.empty()) return event::end;
    bytes_ -= queued_bytes(queue_.front());
    out = std::move(queue_.front());
    queue_.pop_front();
    return event::item;
  }
  void wake(std::unique_lock<std::mutex>& lock) {
    if (!waiter_) return;
    auto h = std::exchange(waiter_, {});
    auto* io = std::exchange(waiter_io_, nullptr);
    lock.unlock();
    boost::asio::post(*io, [h] {
      h.resume();
      cairn::detail::current_actor = nullptr;  // back in the event loop
    });
  }

  mutable std::mutex mutex_;
  std::deque<T> queue_;
  bool finished_ = false;
  bool failed_ = false;
  bool gone_ = false;
  bool overflowed_ = false;
  std::size_t bound_ = 0;
  std::size_t bytes_ = 0;  // queued, by queued_bytes
  std::coroutine_handle<> waiter_;
  boost::asio::io_context* waiter_io_ = nullptr;
};

}  // namespace cairn::http::detail
