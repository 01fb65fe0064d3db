#include "connect.hpp"

#include <memory>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

#include <cairn/use_task.hpp>

namespace cairn::http::client {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using resolver = net::ip::basic_resolver<tcp, net::io_context::executor_type>;
constexpr auto as_result = net::as_tuple(cairn::use_task);

namespace {

/// DNS through Asio's resolver (getaddrinfo on its own thread), cancelled
/// when `timeout` passes first.
task<std::vector<tcp::endpoint>> resolve(net::io_context& io, const parsed_url& u, std::chrono::milliseconds timeout) {
  std::vector<tcp::endpoint> out;
  const auto port = static_cast<unsigned short>(std::stoul(u.port));
  if (u.host_is_ip) {
    out.emplace_back(net::ip::make_address(u.host), port);
    co_return out;
  }
  auto r = std::make_shared<resolver>(io.get_executor());
  auto timed_out = std::make_shared<bool>(false);
  net::steady_timer timer(io, timeout);
  timer.async_wait([r, timed_out](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the lookup finished first
    *timed_out = true;
    r->cancel();
  });
  auto [ec, results] = co_await r->async_resolve(u.host, u.port, as_result);
  timer.cancel();
  if (*timed_out) throw fetch_error(fetch_errc::timed_out, u.str(), "resolving " + u.host + " timed out");
  if (ec) throw fetch_error(fetch_errc::resolve_failed, u.str(), "cannot resolve " + u.host + ": " + ec.message());
  for (const auto& e : results) out.push_back(e.endpoint());
  if (out.empty()) throw fetch_error(fetch_errc::resolve_failed, u.str(), u.host + " resolves to no address");
  co_return out;
}

}  // namespace

task<tcp_stream> open_tcp(net::io_context& io, const parsed_url& u, const address_policy& allow,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto all = co_await resolve(io, u, timeout);
  std::vector<tcp::endpoint> allowed;
  for (const auto& e : all)
    if (!allow || allow(u.host, e.address())) allowed.push_back(e);
  if (allowed.empty())
    throw fetch_error(fetch_errc::address_refused, u.str(),
                      "no address of " + u.host + " is allowed (" + all.front().address().to_string() +
                          (all.size() > 1 ? " and others" : "") + ")");
  boost::system::error_code last;
  for (const auto& e : allowed) {  // in the resolver's order, all within one deadline
    tcp_stream s(io.get_executor());
    s.expires_at(deadline);
    auto [ec] = co_await s.async_connect(e, as_result);
    if (!ec) {
      s.expires_never();
      s.socket().set_option(tcp::no_delay(true));
      co_return s;
    }
    last = ec;
    if (ec == boost::beast::error::timeout) break;
  }
  throw failure(last, u.str(), "connecting to " + u.host_header);
}

task<void> start_tls(tls_stream& s, const parsed_url& u, std::chrono::milliseconds timeout) {
  SSL* ssl = s.native_handle();
  if (!u.host_is_ip && !SSL_set_tlsext_host_name(ssl, u.host.c_str()))  // SNI, for names only (RFC 6066)
    throw fetch_error(fetch_errc::tls_failed, u.str(), "cannot set the TLS server name");
  s.set_verify_callback(net::ssl::host_name_verification(u.host));
  boost::beast::get_lowest_layer(s).expires_after(timeout);
  auto [ec] = co_await s.async_handshake(net::ssl::stream_base::client, as_result);
  boost::beast::get_lowest_layer(s).expires_never();
  if (!ec) co_return;
  if (ec == boost::beast::error::timeout) throw failure(ec, u.str(), "the TLS handshake");
  std::string why = ec.message();
  if (const long v = SSL_get_verify_result(ssl); v != X509_V_OK)
    why = std::string("certificate not accepted: ") + X509_verify_cert_error_string(v);
  throw fetch_error(fetch_errc::tls_failed, u.str(), "TLS with " + u.host_header + " failed: " + why);
}

fetch_error failure(const boost::system::error_code& ec, const std::string& url, std::string_view doing) {
  const std::string what = std::string(doing) + ": " + ec.message();
  if (ec == boost::beast::error::timeout) return {fetch_errc::timed_out, url, std::string(doing) + " timed out"};
  if (ec == net::error::connection_refused || ec == net::error::host_unreachable ||
      ec == net::error::network_unreachable)
    return {fetch_errc::connect_failed, url, what};
  if (ec.category() == boost::beast::http::make_error_code(boost::beast::http::error::bad_target).category())
    return {ec == boost::beast::http::error::header_limit ? fetch_errc::body_too_large : fetch_errc::protocol_error,
            url, what};
  if (ec.category() == boost::beast::websocket::make_error_code(boost::beast::websocket::error::closed).category() &&
      ec != boost::beast::websocket::error::closed)
    return {fetch_errc::protocol_error, url, what};
  if (ec.category() == net::error::get_ssl_category() && ec != net::ssl::error::stream_truncated)
    return {fetch_errc::tls_failed, url, what};
  return {fetch_errc::connection_closed, url, what};
}

bool closed_by_peer(const boost::system::error_code& ec) noexcept {
  return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == boost::beast::http::error::end_of_stream || ec == net::ssl::error::stream_truncated;
}

}  // namespace cairn::http::client
