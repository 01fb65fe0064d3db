#include <cairn/detail/recycling_allocator.hpp>

namespace cairn::detail {

#if defined(__SANITIZE_ADDRESS__)
void recycling_allocator::release_thread_cache() noexcept {}
#else
namespace {
// Its destructor empties the thread's lists when the thread ends.
struct thread_cache_owner {
  ~thread_cache_owner() { recycling_allocator::release_thread_cache(); }
};
}  // namespace

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
#endif

}  // namespace cairn::detail
