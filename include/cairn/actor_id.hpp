#pragma once
/// `cairn::actor_id`: the address of one actor inside a namespace.
///
/// The identity is a 128-bit value, random (new_unique_id) or a keyed hash of
/// the namespace and a name (id_from_name). Its text form is 64 hex chars: the
/// value followed by a 128-bit MAC keyed by the namespace, so id_from_string
/// can reject strings that were not made by this namespace.
#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>

namespace cairn {

namespace detail {
struct namespace_state;
}

class actor_id {
 public:
  static constexpr std::size_t value_size = 16;
  using value_type = std::array<std::uint8_t, value_size>;

  actor_id() noexcept = default;
  actor_id(const detail::namespace_state* ns, const value_type& v) noexcept : ns_(ns), value_(v) {}

  /// The 64-hex-char text form (value + MAC). Computes a keyed hash.
  [[nodiscard]] std::string to_string() const;
  /// The namespace this id belongs to.
  [[nodiscard]] const std::string& namespace_name() const;

  [[nodiscard]] const value_type& value() const noexcept { return value_; }
  [[nodiscard]] const detail::namespace_state* ns() const noexcept { return ns_; }
  [[nodiscard]] bool valid() const noexcept { return ns_ != nullptr; }

  /// 64 pseudo-random bits of the value: used to pick the shard and as hash.
  [[nodiscard]] std::uint64_t low_bits() const noexcept {
    std::uint64_t x;
    std::memcpy(&x, value_.data(), sizeof x);
    return x;
  }
  [[nodiscard]] std::uint64_t high_bits() const noexcept {
    std::uint64_t x;
    std::memcpy(&x, value_.data() + 8, sizeof x);
    return x;
  }

  friend bool operator==(const actor_id& a, const actor_id& b) noexcept {
    return a.ns_ == b.ns_ && a.value_ == b.value_;
  }

 private:
  const detail::namespace_state* ns_ = nullptr;
  value_type value_{};
};

}  // namespace cairn
