#pragma once
// Idle outbound connections of one shard, by origin: the most recently used
// first, at most a bound per origin, none older than the idle timeout. Used
// by its shard's thread only. Private to io/.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "connection.hpp"

namespace cairn::http::client {

class connection_pool {
 public:
  using clock = std::chrono::steady_clock;
  connection_pool(std::size_t max_per_origin, std::chrono::milliseconds idle_timeout)
      : max_per_origin_(max_per_origin), idle_timeout_(idle_timeout) {}

  /// A kept connection to `origin` that is still usable, or nullptr.
  std::unique_ptr<connection> take(const std::string& origin);
  /// Keeps `c` for the next request to `origin` (or closes it if full).
  void give(const std::string& origin, std::unique_ptr<connection> c);

 private:
  struct idle {
    std::unique_ptr<connection> c;
    clock::time_point since;
  };
  std::size_t max_per_origin_;
  std::chrono::milliseconds idle_timeout_;
  std::unordered_map<std::string, std::vector<idle>> idle_;
};

}  // namespace cairn::http::client
