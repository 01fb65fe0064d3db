#pragma once
// The cairn side of the Savina comparison (perf/cairn_savina.cpp).
#include <malloc.h>

#include <cstdint>

#include "savina.hpp"

namespace savina::cairn_impl {

result pingpong(const params&);             // both actors on one shard
result pingpong_cross_shard(const params&);  // the two actors on different shards
result counting(const params&);
result thread_ring(const params&);
result fork_join_throughput(const params&);
result fork_join_create(const params&);
result big(const params&);
result chameneos(const params&);

/// Bytes the allocator has handed out (0 under ASan, which replaces malloc).
inline std::uint64_t heap_in_use() {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

struct activation_result {
  std::uint64_t resident = 0;  // actors activated and left resident
  double seconds = 0;          // time to activate them all (one message each), on one shard
  std::uint64_t heap_before = 0, heap_after = 0;
};
/// Activates `n` empty actors on a one-shard runtime.
activation_result activations(std::uint64_t n);

}  // namespace savina::cairn_impl
