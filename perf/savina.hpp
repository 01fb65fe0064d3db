#pragma once
// Shared parameters and result type of the Savina micro-benchmarks, so the
// cairn and CAF implementations run exactly the same workloads.
#include <cstddef>
#include <cstdint>

namespace savina {

struct result {
  std::uint64_t messages = 0;  // messages delivered during the timed region
  double seconds = 0;          // wall time of the timed region
};

// Defaults follow the Savina suite (Imam & Sarkar, 2014) where they are
// small enough for one run of >= 0.5 s on a 2-core machine.
struct params {
  int threads = 2;                         // shards (cairn) / scheduler threads (CAF)
  std::uint64_t pingpong_n = 40'000;       // round trips (2 messages each)
  std::uint64_t counting_n = 1'000'000;    // increments sent to one counter
  int ring_actors = 100;                   // thread ring size
  std::uint64_t ring_passes = 100'000;     // token hops
  int fj_actors = 60;                      // fork-join throughput workers
  std::uint64_t fj_messages = 10'000;      // messages per worker
  std::uint64_t fjc_actors = 40'000;       // fork-join create: actors created
  int big_actors = 120;                    // big: workers
  std::uint64_t big_pings = 20'000;        // big: pings each worker sends
  int cham_count = 100;                    // chameneos creatures
  std::uint64_t cham_meetings = 200'000;   // chameneos meetings
};

// Each function runs the workload once and returns what it measured.
// The CAF versions live in perf/caf_savina.cpp, the cairn ones in perf/cairn_savina.cpp.
namespace caf_impl {
result pingpong(const params&);
result counting(const params&);
result thread_ring(const params&);
result fork_join_throughput(const params&);
result fork_join_create(const params&);
result big(const params&);
result chameneos(const params&);
// Heap bytes per idle event-based actor (glibc mallinfo2 delta).
std::size_t idle_actor_bytes(int n);
}  // namespace caf_impl

}  // namespace savina
