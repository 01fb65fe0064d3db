// counting_allocator (engine.hpp). Compiled with -fno-rtti: the class derives
// from a V8 class and libnode has no RTTI (DESIGN.md 6).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "engine.hpp"

namespace cairn::sandbox::detail {
namespace {

class budget_allocator final : public v8::ArrayBuffer::Allocator {
 public:
  explicit budget_allocator(std::size_t limit) : limit_(limit) {}

  void* Allocate(std::size_t length) override {
    if (!reserve(length)) return nullptr;
    void* p = std::calloc(length ? length : 1, 1);
    if (!p) used_.fetch_sub(length, std::memory_order_relaxed);
    return p;
  }
  void* AllocateUninitialized(std::size_t length) override {
    if (!reserve(length)) return nullptr;
    void* p = std::malloc(length ? length : 1);
    if (!p) used_.fetch_sub(length, std::memory_order_relaxed);
    return p;
  }
  void Free(void* data, std::size_t length) override {
    std::free(data);
    used_.fetch_sub(length, std::memory_order_relaxed);
  }

  std::atomic<std::size_t> used_{0};
  std::atomic<bool> refused_{false};

 private:
  bool reserve(std::size_t length) {
    std::size_t now = used_.load(std::memory_order_relaxed);
    do {
      if (length > limit_ || now > limit_ - length) {
        refused_.store(true, std::memory_order_relaxed);
        return false;
      }
    } while (!used_.compare_exchange_weak(now, now + length, std::memory_order_relaxed));
    return true;
  }
  const std::size_t limit_;
};

}  // namespace

counting_allocator::counting_allocator(std::size_t limit) : impl_(std::make_unique<budget_allocator>(limit)) {}
counting_allocator::~counting_allocator() = default;

std::size_t counting_allocator::used() const noexcept {
  return static_cast<const budget_allocator*>(impl_.get())->used_.load(std::memory_order_relaxed);
}

bool counting_allocator::take_refusal() noexcept {
  return static_cast<budget_allocator*>(impl_.get())->refused_.exchange(false, std::memory_order_relaxed);
}

void counting_allocator::note_refusal() noexcept {
  static_cast<budget_allocator*>(impl_.get())->refused_.store(true, std::memory_order_relaxed);
}

}  // namespace cairn::sandbox::detail
