#pragma once
/// Settings of a cairn::runtime.
#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

namespace cairn {

struct runtime_options {
  /// Shards (threads). 0: one per core.
  unsigned shards = 0;
  /// Secret that keys every namespace's ids. The empty default uses a fixed
  /// development key: ids are then predictable, so set it in production.
  std::string secret;
  /// How long an idle shard polls for work before it sleeps in the kernel.
  /// Short bursts of cross-shard messages then avoid a wake-up each.
  std::chrono::microseconds idle_spin{50};
  /// How long stop() lets in-flight turns finish before it abandons them.
  std::chrono::milliseconds drain_timeout{10'000};
  /// Called (on the shard's thread) for an exception nobody can receive: an
  /// escaped error of a spawned task or of a one-way send's handler. The
  /// default prints it to stderr.
  std::function<void(std::exception_ptr, std::string_view context)> on_unhandled_error;
};

}  // namespace cairn
