#include "client_service.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

#include <cairn/detail/runtime_core.hpp>
#include <cairn/runtime.hpp>

namespace cairn::http::client {

namespace ssl = boost::asio::ssl;

client_service& client_service::of(cairn::detail::shard& s) { return s.core().use_service<client_service>(); }
client_service& client_service::of(runtime& rt) { return rt.core().use_service<client_service>(); }

void client_service::configure(client_settings settings) {
  if (settings.max_idle_per_origin == 0) settings.max_idle_per_origin = 1;
  std::lock_guard lock(mutex_);
  if (used_) throw std::logic_error("configure_client: the outbound client has been used already");
  if (!settings.extra_ca_file.empty()) {  // fail here, not at the first fetch
    ssl::context probe(ssl::context::tls_client);
    boost::system::error_code ec;
    probe.load_verify_file(settings.extra_ca_file, ec);
    if (ec) throw std::invalid_argument("configure_client: cannot load " + settings.extra_ca_file + ": " + ec.message());
  }
  settings_ = std::move(settings);
}

ssl::context& client_service::tls() {
  std::lock_guard lock(mutex_);
  used_ = true;
  if (!tls_) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_default_verify_paths();  // the system's store (SSL_CERT_FILE / SSL_CERT_DIR override it)
    if (!settings_.extra_ca_file.empty()) ctx->load_verify_file(settings_.extra_ca_file);
    ctx->set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    static constexpr unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx->native_handle(), alpn, sizeof alpn);
    tls_ = std::move(ctx);
  }
  return *tls_;
}

std::shared_ptr<connection_pool> client_service::pool(std::uint32_t index) {
  std::lock_guard lock(mutex_);
  used_ = true;
  auto& p = pools_[index];
  if (!p) p = std::make_shared<connection_pool>(settings_.max_idle_per_origin, settings_.idle_timeout);
  return p;
}

}  // namespace cairn::http::client
