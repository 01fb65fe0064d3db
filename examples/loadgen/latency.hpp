#pragma once
// A latency histogram with bounded relative error: 32 buckets per power of
// two of microseconds (about 3% wide), mergeable across virtual users.
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>

namespace loadgen {

class latency_histogram {
 public:
  void add(std::chrono::steady_clock::duration d) noexcept {
    const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
    ++counts_[bucket(us)];
    ++total_;
    if (us > max_us_) max_us_ = us;
  }
  void merge(const latency_histogram& o) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    if (o.max_us_ > max_us_) max_us_ = o.max_us_;
  }
  /// The latency at quantile q (0..1) in microseconds: the upper edge of its bucket.
  [[nodiscard]] std::uint64_t quantile_us(double q) const noexcept {
    if (total_ == 0) return 0;
    const auto want = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= want) return std::min(upper_edge(i), max_us_);
    }
    return max_us_;
  }
  [[nodiscard]] std::uint64_t max_us() const noexcept { return max_us_; }
  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }

 private:
  static constexpr unsigned sub_bits = 5;  // 32 buckets per power of two
  static std::size_t bucket(std::uint64_t us) noexcept {
    if (us < (1u << sub_bits)) return us;
    const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(us));
    const unsigned shift = msb - sub_bits;
    return ((shift + 1) << sub_bits) + ((us >> shift) & ((1u << sub_bits) - 1));
  }
  static std::uint64_t upper_edge(std::size_t b) noexcept {
    if (b < (1u << sub_bits)) return b;
    const std::size_t shift = (b >> sub_bits) - 1;
    const std::uint64_t mantissa = (b & ((1u << sub_bits) - 1)) | (1u << sub_bits);
    return ((mantissa + 1) << shift) - 1;
  }

  std::array<std::uint64_t, 64 << sub_bits> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_us_ = 0;
};

}  // namespace loadgen
