#pragma once
// The isolate of one tenant on one pool thread, with the embedder callbacks
// that take away what the sandbox forbids: code generation from strings,
// WebAssembly unless granted, SharedArrayBuffer; and the near-heap-limit
// callback that stops a heap bomb. Private to sandbox/.
#include <cstddef>
#include <string>

#include <v8.h>

#include "engine.hpp"

namespace cairn::sandbox::detail {

/// Isolates are keyed by tenant and by the limits that belong to the isolate.
struct isolate_key {
  std::string tenant;
  std::size_t heap_bytes = 0;
  std::size_t array_buffer_bytes = 0;
  bool operator==(const isolate_key&) const = default;
  [[nodiscard]] std::string str() const {
    return tenant + '\0' + std::to_string(heap_bytes) + '\0' + std::to_string(array_buffer_bytes);
  }
};

class tenant_isolate {
 public:
  /// Embedder data slot of a context that points at its worker_instance.
  static constexpr int worker_slot = 1;

  explicit tenant_isolate(isolate_key key);
  ~tenant_isolate();
  tenant_isolate(const tenant_isolate&) = delete;
  tenant_isolate& operator=(const tenant_isolate&) = delete;

  [[nodiscard]] v8::Isolate* get() const noexcept { return iso_; }
  [[nodiscard]] const isolate_key& key() const noexcept { return key_; }
  [[nodiscard]] counting_allocator& allocator() noexcept { return alloc_; }
  /// Set by the near-heap-limit callback; the isolate must then be replaced.
  [[nodiscard]] bool heap_exceeded() const noexcept { return heap_exceeded_; }
  [[nodiscard]] std::size_t heap_used() const;

  std::size_t workers = 0;      // live workers in this isolate
  bool one_off = false;         // a tenant of its own (pool::load without tenant): drop with its worker
  v8::Global<v8::UnboundScript> prelude;  // compiled once per isolate, run in each context

 private:
  static std::size_t near_heap_limit(void* self, std::size_t current, std::size_t initial);

  isolate_key key_;
  counting_allocator alloc_;
  v8::Isolate* iso_ = nullptr;
  bool heap_exceeded_ = false;
};

}  // namespace cairn::sandbox::detail
