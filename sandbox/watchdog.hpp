#pragma once
// One thread that enforces time limits for every pool thread: it terminates a
// slice of guest code whose thread has used its CPU budget (measured with the
// thread's CPU clock, so a descheduled thread is not charged), and fires wall
// deadlines. Private to sandbox/.
//
// Reading a thread's CPU clock is a system call (no vDSO), a few microseconds
// in a VM, and most slices are far shorter: two per slice were about 5% of a
// JS actor's request. So a slice reads only the steady clock. It is charged
// its wall time when that is under `exact_after` (an upper bound of its CPU
// time, off by at most what the scheduler took from it meanwhile); a longer
// one reads the CPU clock at its end and is charged what the thread used
// since a reading no older than `exact_after` before the slice began (so at
// most that much too much). The watchdog checks a running slice against the
// same reading, taken as late as it can have been: it may stop a slice up to
// `exact_after` of CPU time late, never early.
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
  /// See the file comment: the bound on a slice's error.
  static constexpr std::chrono::microseconds exact_after{1000};

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
    // The thread's latest CPU clock reading and when it was taken; both
    // written by the thread itself.
    std::chrono::nanoseconds cpu_read{0};
    clock::time_point cpu_read_at{};
    clock::time_point wall_start{};
    std::chrono::nanoseconds cpu_start{0};  // the latest the slice's start can have been on the CPU clock
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
