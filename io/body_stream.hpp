#pragma once
// The shared state of a streamed response body: chunks written on any thread
// (an actor's shard), read by the connection on its shard. Private to io/.
#include <coroutine>
#include <deque>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>

#include <cairn/http/stream.hpp>

namespace cairn::http::detail {

class body_stream {
 public:
  // ---- the writer's side (any thread) ----
  /// False (and the chunk is dropped) once the body ended or the client left.
  bool push(std::string chunk);
  /// The writer is done: the client gets the end after the queued chunks.
  void finish();
  /// The writer's output is void (its commit failed): the connection aborts.
  void fail();
  [[nodiscard]] bool accepting() const;

  // ---- the connection's side (its shard) ----
  enum class event { chunk, end, aborted };
  struct next_awaitable;
  /// Waits for the next chunk (into `out`), the end, or an abort; the
  /// connection resumes on `io`.
  next_awaitable next(boost::asio::io_context& io, std::string& out);
  /// The client left (a write failed): writers learn it from push().
  void client_gone();
  /// The server stops: the body ends after what is queued.
  void end_by_server() { finish(); }

 private:
  void wake_locked(std::unique_lock<std::mutex>& lock);
  [[nodiscard]] bool ready_locked() const noexcept { return !queue_.empty() || finished_ || failed_; }
  event take_locked(std::string& out);

  mutable std::mutex mutex_;
  std::deque<std::string> queue_;
  bool finished_ = false;
  bool failed_ = false;
  bool gone_ = false;
  std::coroutine_handle<> waiter_;
  boost::asio::io_context* waiter_io_ = nullptr;
};

struct body_stream::next_awaitable {
  body_stream& s;
  boost::asio::io_context& io;
  std::string& out;
  event result = event::end;
  bool taken = false;

  bool await_ready() {
    std::lock_guard lock(s.mutex_);
    if (!s.ready_locked()) return false;
    result = s.take_locked(out);
    taken = true;
    return true;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    std::lock_guard lock(s.mutex_);
    if (s.ready_locked()) {  // arrived in between
      result = s.take_locked(out);
      taken = true;
      return false;
    }
    s.waiter_ = h;
    s.waiter_io_ = &io;
    return true;
  }
  event await_resume() {
    if (taken) return result;
    std::lock_guard lock(s.mutex_);  // woken: something is ready
    return s.take_locked(out);
  }
};

}  // namespace cairn::http::detail
