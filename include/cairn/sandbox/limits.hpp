#pragma once
// What one worker may use. CPU, wall time, requests, console and result are
// per call; heap and ArrayBuffer bytes belong to the tenant's isolate (workers
// with different values get different isolates); code and env bytes are
// checked when the worker loads.
#include <chrono>
#include <cstddef>

namespace cairn::sandbox {

struct limits {
  /// Guest CPU time per call (module evaluation counts as a call), microtasks included.
  std::chrono::milliseconds cpu{100};
  /// Wall time per call, including awaits of host functions and fetch.
  std::chrono::milliseconds wall{10'000};
  /// V8 heap of the isolate; past it the isolate is dropped and replaced.
  std::size_t heap_bytes = std::size_t{128} << 20;
  /// Live ArrayBuffer bytes in the isolate; an allocation past it throws a RangeError.
  std::size_t array_buffer_bytes = std::size_t{64} << 20;
  /// Sum of the module sources.
  std::size_t code_bytes = std::size_t{4} << 20;
  /// The env values, as JSON.
  std::size_t env_bytes = std::size_t{1} << 20;
  /// Outbound fetches per call (redirect hops included).
  unsigned max_requests = 50;
  /// Calls of host functions and actor stubs per call; their arguments
  /// together hold at most result_bytes (as JSON).
  unsigned max_host_calls = 1000;
  /// Console output captured per call; the rest is cut with a marker.
  std::size_t console_bytes = std::size_t{64} << 10;
  /// The value copied back to the host, as JSON, and a response body.
  std::size_t result_bytes = std::size_t{16} << 20;
  /// WebAssembly compilation; its memory is capped by pool_options::wasm_max_pages.
  bool wasm = false;
};

}  // namespace cairn::sandbox
