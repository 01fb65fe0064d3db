#pragma once
// One thread that enforces time limits for every pool thread: it terminates a
// slice of guest code whose thread has used its CPU budget (measured with the
// thread's CPU clock, so a descheduled thread is not charged), and fires wall
// deadlines. Private to sandbox/.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include <pthread.h>

namespace v8 {
class Isolate;
}

namespace cairn::sandbox::detail {

enum class stop_reason : std::uint8_t { none, cpu, wall };

class watchdog {
 public:
  using clock = std::chrono::steady_clock;

  explicit watchdog(unsigned threads);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  /// Called by pool thread `t` once, from that thread.
  void register_thread(unsigned t);
  /// Thread `t` starts running guest code of run `run` in `iso` for at most
  /// `budget` CPU time.
  void begin_slice(unsigned t, v8::Isolate* iso, std::uint64_t run, std::chrono::nanoseconds budget);
  /// The slice ended; says whether (and why) the watchdog terminated it. The
  /// CPU time the slice used is returned through `used`.
  stop_reason end_slice(unsigned t, std::chrono::nanoseconds& used);
  /// At `when`: terminates run `run` if it is running on `t`, then calls `fire`
  /// (on the watchdog thread; it must only post).
  void add_deadline(clock::time_point when, unsigned t, std::uint64_t run, std::function<void()> fire);

 private:
  struct slot {
    clockid_t cpu_clock{};
    bool active = false;
    v8::Isolate* iso = nullptr;
    std::uint64_t run = 0;
    std::chrono::nanoseconds cpu_start{0};
    std::chrono::nanoseconds budget{0};
    clock::time_point next_check{};
    stop_reason stopped = stop_reason::none;
  };
  struct deadline {
    clock::time_point when;
    unsigned thread;
    std::uint64_t run;
    std::function<void()> fire;
    bool operator>(const deadline& o) const { return when > o.when; }
  };

  void main();
  static std::chrono::nanoseconds read_cpu(clockid_t c);

  std::mutex m_;
  std::condition_variable cv_;
  std::vector<slot> slots_;
  std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines_;
  clock::time_point planned_wake_ = clock::time_point::max();
  bool exit_ = false;
  std::thread thread_;
};

}  // namespace cairn::sandbox::detail
