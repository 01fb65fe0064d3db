#pragma once
// Per-thread free lists by size class for coroutine frames and message nodes,
// so the hot paths (a call, a send, a handler coroutine) never reach malloc once
// warmed up. A block may be freed on another thread than the one that allocated
// it (a message sent across shards): it joins the freeing thread's list, and a
// thread whose list overflows hands a batch of blocks to a shared depot where
// a thread whose list ran dry picks it up. So one-way traffic between shards
// recycles blocks without cross-thread frees inside malloc, whose arena lock
// would otherwise be contended on every message.
#include <cstddef>
#include <new>

namespace cairn::detail {

struct recycling_allocator {
  static constexpr std::size_t granularity = 64;
  static constexpr std::size_t class_count = 16;  // blocks up to 1 KiB are cached
  static constexpr std::size_t max_cached_per_class = 1024;
  static constexpr std::size_t batch = 256;  // blocks moved to or from the depot at once

  [[nodiscard]] static void* allocate(std::size_t size);
  static void deallocate(void* p, std::size_t size) noexcept;

  /// Returns every cached block of the calling thread to the global allocator.
  static void release_thread_cache() noexcept;
};

#if defined(__SANITIZE_ADDRESS__) || defined(CAIRN_PLAIN_ALLOCATION)
// In sanitizer builds every block goes straight to the global allocator so
// that use-after-free on frames and messages is caught. (CAIRN_PLAIN_ALLOCATION
// comes with a sanitized libcairn, so its users agree with it.)
// Sizes are still rounded to the size classes, so blocks stay interchangeable
// with those of code built the other way.
inline void* recycling_allocator::allocate(std::size_t size) {
  return ::operator new(size <= class_count * granularity ? (size + granularity - 1) / granularity * granularity : size);
}
inline void recycling_allocator::deallocate(void* p, std::size_t) noexcept { ::operator delete(p); }
#endif

namespace thread_cache {
struct free_block { free_block* next; };
struct lists {
  free_block* head[recycling_allocator::class_count];
  unsigned count[recycling_allocator::class_count];
  bool registered;
};
// Constant-initialised and trivially destructible: access costs no TLS guard.
inline thread_local lists tls{};
void register_thread() noexcept;
// Slow paths: take a batch from the depot (or malloc), give one to it.
void* refill(std::size_t c);
void spill(std::size_t c) noexcept;
}  // namespace thread_cache

#if !defined(__SANITIZE_ADDRESS__) && !defined(CAIRN_PLAIN_ALLOCATION)
inline void* recycling_allocator::allocate(std::size_t size) {
  const std::size_t c = (size - 1) / granularity;
  if (c < class_count) {
    auto& t = thread_cache::tls;
    if (auto* b = t.head[c]) {
      t.head[c] = b->next;
      --t.count[c];
      return b;
    }
    return thread_cache::refill(c);
  }
  return ::operator new(size);
}

inline void recycling_allocator::deallocate(void* p, std::size_t size) noexcept {
  const std::size_t c = (size - 1) / granularity;
  if (c < class_count) {
    auto& t = thread_cache::tls;
    if (!t.registered) thread_cache::register_thread();
    if (t.count[c] >= max_cached_per_class) thread_cache::spill(c);
    auto* b = static_cast<thread_cache::free_block*>(p);
    b->next = t.head[c];
    t.head[c] = b;
    ++t.count[c];
    return;
  }
  ::operator delete(p, size);
}
#endif

}  // namespace cairn::detail
