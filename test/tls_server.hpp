#pragma once
// An HTTPS and WSS server for the outbound client's tests: a private CA made
// at run time (OpenSSL), a server certificate it signs for the given names,
// and a small server on its own thread that answers "secure <target>" and
// echoes WebSocket messages.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace cairn_test {

namespace tls_detail {

struct key_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_deleter {
  void operator()(X509* c) const { X509_free(c); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `cn` with key `key`, signed by `issuer` (self-signed when null).
inline cert_ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, const char* san,
                          long serial) {
  cert_ptr c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 3600L * 24);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : c.get();
  if (san) {
    add_ext(c.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c.get(), signer, NID_subject_alt_name, san);
  } else {
    add_ext(c.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  check(X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "signing");
  return c;
}

inline void write_pem(const std::filesystem::path& p, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(p.c_str(), "w");
  check(f != nullptr, "opening a PEM file");
  if (cert) PEM_write_X509(f, cert);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace tls_detail

/// ca.pem (the CA to trust) and server.pem (certificate and key) under `dir`,
/// the server's certificate valid for `san` (e.g. "DNS:localhost").
inline void make_test_pki(const std::filesystem::path& dir, const char* san) {
  using namespace tls_detail;
  key_ptr ca_key(EVP_EC_gen("P-256"));
  key_ptr server_key(EVP_EC_gen("P-256"));
  check(ca_key && server_key, "key generation");
  auto ca = make_cert(ca_key.get(), "cairn test CA", nullptr, nullptr, nullptr, 1);
  auto server = make_cert(server_key.get(), "cairn test server", ca.get(), ca_key.get(), san, 2);
  write_pem(dir / "ca.pem", ca.get(), nullptr);
  write_pem(dir / "server.pem", server.get(), server_key.get());
}

/// HTTPS on 127.0.0.1 (any free port): "secure <target>" for every request,
/// and WebSocket echo for upgrades. Stops and joins on destruction.
class tls_server {
 public:
  explicit tls_server(const std::filesystem::path& pem) : ctx_(boost::asio::ssl::context::tls_server), acc_(io_) {
    ctx_.use_certificate_chain_file(pem.string());
    ctx_.use_private_key_file(pem.string(), boost::asio::ssl::context::pem);
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acc_.open(ep.protocol());
    acc_.bind(ep);
    acc_.listen();
    port_ = acc_.local_endpoint().port();
    boost::asio::co_spawn(io_, accept(), boost::asio::detached);
    thread_ = std::thread([this] {
      io_.run();
      done_.set_value();
    });
  }
  /// Closes the listener; the connections end as their clients close them
  /// (a cairn runtime closes its pooled ones when it stops). Stopping the
  /// io_context with operations pending instead trips Asio 1.81's io_uring
  /// accept operation on destruction.
  ~tls_server() {
    boost::asio::post(io_, [this] { acc_.close(); });
    if (done_.get_future().wait_for(std::chrono::seconds(10)) != std::future_status::ready) io_.stop();
    thread_.join();
  }
  [[nodiscard]] unsigned short port() const noexcept { return port_; }

 private:
  using awaitable = boost::asio::awaitable<void>;
  using ssl_socket = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  awaitable accept() {
    for (;;) {
      auto [ec, sock] = co_await acc_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return;  // closed
      boost::asio::co_spawn(io_, serve(ssl_socket(std::move(sock), ctx_)), boost::asio::detached);
    }
  }

  awaitable serve(ssl_socket s) {
    namespace http = boost::beast::http;
    try {
      co_await s.async_handshake(boost::asio::ssl::stream_base::server, boost::asio::use_awaitable);
      boost::beast::flat_buffer buf;
      for (;;) {
        http::request<http::string_body> req;
        co_await http::async_read(s, buf, req, boost::asio::use_awaitable);
        if (boost::beast::websocket::is_upgrade(req)) {
          boost::beast::websocket::stream<ssl_socket> ws(std::move(s));
          co_await ws.async_accept(req, boost::asio::use_awaitable);
          for (;;) {
            boost::beast::flat_buffer msg;
            co_await ws.async_read(msg, boost::asio::use_awaitable);
            ws.text(ws.got_text());
            co_await ws.async_write(msg.data(), boost::asio::use_awaitable);
          }
        }
        http::response<http::string_body> res(http::status::ok, req.version());
        res.body() = "secure " + std::string(req.target());
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        co_await http::async_write(s, res, boost::asio::use_awaitable);
        if (!req.keep_alive()) break;
      }
    } catch (const std::exception&) {
      // the client went away, or refused our certificate: the test checks what it saw
    }
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acc_;
  unsigned short port_ = 0;
  std::promise<void> done_;
  std::thread thread_;
};

}  // namespace cairn_test
