#pragma once
// Lower-case hex text of bytes, and back: actor ids, file names, the alarm index.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cairn::detail {

inline constexpr char hex_digits[] = "0123456789abcdef";

/// The value of one hex digit (either case), or -1.
[[nodiscard]] inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline void append_hex(std::string& out, const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out += {hex_digits[p[i] >> 4], hex_digits[p[i] & 15]};
}

/// Decodes exactly `n` bytes from `text` (2n hex digits); false if it is not that.
[[nodiscard]] inline bool parse_hex(std::string_view text, std::uint8_t* out, std::size_t n) noexcept {
  if (text.size() != 2 * n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace cairn::detail
