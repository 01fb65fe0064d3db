#include <cairn/detail/recycling_allocator.hpp>

#include <mutex>
#include <vector>

namespace cairn::detail {

namespace {
// Its destructor empties the thread's lists when the thread ends.
struct thread_cache_owner {
  ~thread_cache_owner() { recycling_allocator::release_thread_cache(); }
};
}  // namespace

namespace {
// Batches of `recycling_allocator::batch` blocks, linked through their first word.
// It keeps up to `max_bytes` per size class for reuse (bursts of messages
// between shards are recycled rather than freed across threads in malloc);
// beyond that, blocks go back to malloc.
struct depot {
  static constexpr std::size_t max_bytes = std::size_t{32} << 20;
  static constexpr std::size_t max_batches(std::size_t c) noexcept {
    return max_bytes / ((c + 1) * recycling_allocator::granularity * recycling_allocator::batch);
  }
  std::mutex mutex;
  std::vector<thread_cache::free_block*> batches[recycling_allocator::class_count];
};
depot& the_depot() {
  static depot* d = new depot;  // never destroyed: threads may free blocks during exit
  return *d;
}
}  // namespace

void* thread_cache::refill(std::size_t c) {
  auto& t = tls;
  auto& d = the_depot();
  {
    std::lock_guard lock(d.mutex);
    auto& v = d.batches[c];
    if (!v.empty()) {
      t.head[c] = v.back();
      v.pop_back();
    }
  }
  if (!t.head[c]) return ::operator new((c + 1) * recycling_allocator::granularity);
  if (!t.registered) register_thread();
  t.count[c] = recycling_allocator::batch;
  free_block* b = t.head[c];
  t.head[c] = b->next;
  --t.count[c];
  return b;
}

void thread_cache::spill(std::size_t c) noexcept {
  auto& t = tls;
  // Cut the first `batch` blocks off the list.
  free_block* first = t.head[c];
  free_block* last = first;
  for (std::size_t i = 1; i < recycling_allocator::batch; ++i) last = last->next;
  t.head[c] = last->next;
  last->next = nullptr;
  t.count[c] -= recycling_allocator::batch;
  auto& d = the_depot();
  {
    std::lock_guard lock(d.mutex);
    auto& v = d.batches[c];
    if (v.size() < depot::max_batches(c)) {
      try {
        v.push_back(first);
        return;
      } catch (...) {
      }
    }
  }
  while (first) {
    free_block* next = first->next;
    ::operator delete(first, (c + 1) * recycling_allocator::granularity);
    first = next;
  }
}

void thread_cache::register_thread() noexcept {
  static thread_local thread_cache_owner owner;
  (void)owner;
  tls.registered = true;
}

void recycling_allocator::release_thread_cache() noexcept {
  auto& t = thread_cache::tls;
  for (std::size_t c = 0; c < class_count; ++c) {
    while (auto* b = t.head[c]) {
      t.head[c] = b->next;
      ::operator delete(b, (c + 1) * granularity);
    }
    t.count[c] = 0;
  }
}
}  // namespace cairn::detail
