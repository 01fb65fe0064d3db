#pragma once
// The runtime's outbound client (a runtime service): its settings, the TLS
// context that trusts the system's certificates, one connection pool per
// shard, and counters. Private to io/.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/ssl/context.hpp>

#include <cairn/http/fetch.hpp>

#include "pool.hpp"

namespace cairn::detail {
class shard;
}

namespace cairn::http::client {

class client_service {
 public:
  /// The service of the runtime `s` belongs to.
  static client_service& of(cairn::detail::shard& s);
  static client_service& of(runtime& rt);

  void configure(client_settings settings);
  /// Built on first use (which freezes the settings); read-only after.
  boost::asio::ssl::context& tls();
  /// The pool of shard `index` (use it on that shard's thread only).
  std::shared_ptr<connection_pool> pool(std::uint32_t index);

  std::atomic<std::uint64_t> opened{0};
  std::atomic<std::uint64_t> reused{0};

 private:
  std::mutex mutex_;
  bool used_ = false;
  client_settings settings_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unordered_map<std::uint32_t, std::shared_ptr<connection_pool>> pools_;
};

}  // namespace cairn::http::client
