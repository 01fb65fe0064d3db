#pragma once
/// How far a committed write is guaranteed to survive.
#include <cstdint>

namespace cairn {

enum class durability : std::uint8_t {
  /// fsync at every flush: survives a power cut. The default.
  full,
  /// WAL without fsync at commit: survives a crash of the process, not of the machine.
  normal,
  /// No files: state lives as long as the process (kept across hibernation).
  /// For tests and ephemeral actors.
  memory,
};

[[nodiscard]] constexpr const char* to_string(durability d) noexcept {
  switch (d) {
    case durability::full: return "full";
    case durability::normal: return "normal";
    case durability::memory: return "memory";
  }
  return "?";
}

}  // namespace cairn
