#pragma once
/// `cairn::clock`: where the runtime reads wall time for alarms and idle
/// timeouts. The default follows the system clock; tests give the runtime a
/// `manual_clock` and move time by hand, so timing tests never sleep.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace cairn {

class clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  using duration = std::chrono::system_clock::duration;

  virtual ~clock() = default;
  [[nodiscard]] virtual time_point now() const noexcept = 0;
  /// True if time only moves when someone advances it: the runtime then
  /// checks alarms and idle actors on every change instead of on timers.
  [[nodiscard]] virtual bool is_manual() const noexcept { return false; }
  /// Registers `f` to be called (on the advancing thread) after every change
  /// of a manual clock; returns a token for unsubscribe().
  virtual std::uint64_t subscribe(std::function<void()> f) { (void)f; return 0; }
  /// After this returns, the listener is not running and never runs again.
  virtual void unsubscribe(std::uint64_t token) { (void)token; }
};

/// The system clock.
class system_clock final : public clock {
 public:
  [[nodiscard]] time_point now() const noexcept override { return std::chrono::system_clock::now(); }
};

/// A clock that stands still until advanced.
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point(std::chrono::hours(24 * 365 * 50)))
      : now_(start.time_since_epoch().count()) {}

  [[nodiscard]] time_point now() const noexcept override {
    return time_point(duration(now_.load(std::memory_order_acquire)));
  }
  [[nodiscard]] bool is_manual() const noexcept override { return true; }
  std::uint64_t subscribe(std::function<void()> f) override {
    std::lock_guard lock(mutex_);
    listeners_.emplace_back(++last_token_, std::move(f));
    return last_token_;
  }
  void unsubscribe(std::uint64_t token) override {
    std::lock_guard lock(mutex_);
    std::erase_if(listeners_, [&](auto& l) { return l.first == token; });
  }

  void advance(duration d) { set(now() + d); }
  void set(time_point t) {
    now_.store(t.time_since_epoch().count(), std::memory_order_release);
    std::lock_guard lock(mutex_);  // held so unsubscribe() waits for running listeners
    for (auto& l : listeners_) l.second();
  }

 private:
  std::atomic<duration::rep> now_;
  std::mutex mutex_;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> listeners_;
  std::uint64_t last_token_ = 0;
};

}  // namespace cairn
