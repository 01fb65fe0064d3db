#include "watchdog.hpp"

#include <algorithm>
#include <ctime>

#include <v8.h>

namespace cairn::sandbox::detail {

watchdog::watchdog(unsigned threads) : slots_(threads) { thread_ = std::thread([this] { main(); }); }

watchdog::~watchdog() {
  {
    std::lock_guard lock(m_);
    exit_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

std::chrono::nanoseconds watchdog::read_cpu(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

void watchdog::register_thread(unsigned t) {
  clockid_t c{};
  pthread_getcpuclockid(pthread_self(), &c);
  const auto cpu = read_cpu(c);
  const auto now = clock::now();
  std::lock_guard lock(m_);
  slots_[t].cpu_clock = c;
  slots_[t].cpu_read = cpu;
  slots_[t].cpu_read_at = now;
}

void watchdog::begin_slice(unsigned t, v8::Isolate* iso, std::uint64_t run, std::chrono::nanoseconds budget) {
  const auto now = clock::now();
  // Only this thread writes its slot's readings: read without the lock.
  slot& own = slots_[t];
  auto cpu_read = own.cpu_read;
  auto cpu_read_at = own.cpu_read_at;
  const bool fresh = now - cpu_read_at <= exact_after;
  if (!fresh) {
    cpu_read = read_cpu(own.cpu_clock);  // the clock id never changes after registration
    cpu_read_at = now;
  }
  bool wake = false;
  {
    std::lock_guard lock(m_);
    slot& s = slots_[t];
    s.active = true;
    s.iso = iso;
    s.run = run;
    s.cpu_read = cpu_read;
    s.cpu_read_at = cpu_read_at;
    s.wall_start = now;
    // The CPU clock cannot have run faster than the wall clock since it was read.
    s.cpu_start = cpu_read + std::chrono::duration_cast<std::chrono::nanoseconds>(now - cpu_read_at);
    s.budget = budget;
    s.stopped = stop_reason::none;
    // Wall time passes at least as fast as the thread's CPU time.
    s.next_check = now + std::chrono::duration_cast<clock::duration>(budget);
    wake = s.next_check < planned_wake_;
  }
  if (wake) cv_.notify_one();
}

stop_reason watchdog::end_slice(unsigned t, std::chrono::nanoseconds& used) {
  const auto now = clock::now();
  slot& own = slots_[t];
  const auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(now - own.wall_start);
  std::chrono::nanoseconds cpu{-1};
  if (wall >= exact_after) cpu = read_cpu(own.cpu_clock);
  std::lock_guard lock(m_);
  slot& s = slots_[t];
  s.active = false;
  if (cpu.count() < 0) {
    used = wall;
  } else {
    used = std::min(wall, cpu - s.cpu_read);
    s.cpu_read = cpu;
    s.cpu_read_at = now;
  }
  return std::exchange(s.stopped, stop_reason::none);
}

void watchdog::add_deadline(clock::time_point when, unsigned t, std::uint64_t run, std::function<void()> fire) {
  bool wake = false;
  {
    std::lock_guard lock(m_);
    deadlines_.push(deadline{when, t, run, std::move(fire)});
    wake = when < planned_wake_;
  }
  if (wake) cv_.notify_one();
}

void watchdog::main() {
  std::unique_lock lock(m_);
  while (!exit_) {
    const auto now = clock::now();
    auto next = clock::time_point::max();
    for (slot& s : slots_) {
      if (!s.active || s.stopped != stop_reason::none) continue;
      if (s.next_check <= now) {
        const auto used = read_cpu(s.cpu_clock) - s.cpu_start;
        if (used >= s.budget) {
          s.stopped = stop_reason::cpu;
          s.iso->TerminateExecution();
          continue;
        }
        s.next_check = now + std::chrono::duration_cast<clock::duration>(s.budget - used);
      }
      next = std::min(next, s.next_check);
    }
    std::vector<std::function<void()>> fired;
    while (!deadlines_.empty() && deadlines_.top().when <= now) {
      // The queue's top is const; the function is moved out before pop.
      auto& top = const_cast<deadline&>(deadlines_.top());
      slot& s = slots_[top.thread];
      if (s.active && s.run == top.run && s.stopped == stop_reason::none) {
        s.stopped = stop_reason::wall;
        s.iso->TerminateExecution();
      }
      fired.push_back(std::move(top.fire));
      deadlines_.pop();
    }
    if (!deadlines_.empty()) next = std::min(next, deadlines_.top().when);
    if (!fired.empty()) {
      lock.unlock();
      for (auto& f : fired) f();
      lock.lock();
      continue;
    }
    planned_wake_ = next;
    if (next == clock::time_point::max()) cv_.wait(lock);
    else cv_.wait_until(lock, next);
    planned_wake_ = clock::time_point::max();
  }
}

}  // namespace cairn::sandbox::detail
