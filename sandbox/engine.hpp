#pragma once
// V8 for the whole process: initialised once by the first pool, never torn
// down (V8 cannot be initialised again after disposal). Private to sandbox/.
#include <atomic>
#include <cstddef>
#include <memory>

#include <v8.h>

namespace cairn::sandbox::detail {

/// Initialises V8 with the sandbox's flags (idempotent; the first call's
/// wasm page cap and WebAssembly setting win). Throws std::logic_error if a
/// later call asks for WebAssembly that the first turned off.
void ensure_v8(unsigned wasm_max_pages, bool webassembly);

/// An ArrayBuffer allocator that refuses allocations past a byte budget, so an
/// ArrayBuffer bomb throws a RangeError in the guest instead of exhausting the
/// process. Frees may come from V8's background threads: the count is atomic.
/// (Defined in allocator.cpp, compiled without RTTI like libnode.)
class counting_allocator {
 public:
  explicit counting_allocator(std::size_t limit);
  ~counting_allocator();
  counting_allocator(const counting_allocator&) = delete;
  counting_allocator& operator=(const counting_allocator&) = delete;

  [[nodiscard]] v8::ArrayBuffer::Allocator* get() noexcept { return impl_.get(); }
  [[nodiscard]] std::size_t used() const noexcept;
  /// True (once) if an allocation was refused since the last call.
  [[nodiscard]] bool take_refusal() noexcept;
  /// Records a refusal made on the allocator's behalf (a host-side allocation checked first).
  void note_refusal() noexcept;

 private:
  std::unique_ptr<v8::ArrayBuffer::Allocator> impl_;
};

}  // namespace cairn::sandbox::detail
