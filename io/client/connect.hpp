#pragma once
// Opening an outbound connection: resolve (each address offered to the
// caller's policy), connect, and for https/wss the TLS handshake with the
// certificate checked against the trusted store and the host. Shared by
// fetch and the WebSocket client. Private to io/.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>

#include <cairn/http/fetch.hpp>
#include <cairn/task.hpp>

#include "url.hpp"

namespace cairn::http::client {

/// A TCP stream with per-operation timeouts, on the shard's own executor.
using tcp_stream = boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type,
                                              boost::beast::unlimited_rate_policy>;
using tls_stream = boost::asio::ssl::stream<tcp_stream>;

using address_policy = std::function<bool(std::string_view host, const boost::asio::ip::address&)>;

/// Connects to `u`'s host and port within `timeout`, trying the addresses
/// `allow` accepts (all, without a policy). Throws fetch_error.
task<tcp_stream> open_tcp(boost::asio::io_context& io, const parsed_url& u, const address_policy& allow,
                          std::chrono::milliseconds timeout);

/// The TLS client handshake on `s` for `u` within `timeout`. Throws fetch_error.
task<void> start_tls(tls_stream& s, const parsed_url& u, std::chrono::milliseconds timeout);

/// The fetch_error for a failed socket, TLS or HTTP operation.
[[nodiscard]] fetch_error failure(const boost::system::error_code& ec, const std::string& url, std::string_view doing);

/// Whether a failure on a reused connection means the server had closed it
/// (so the request may be sent again on a new one).
[[nodiscard]] bool closed_by_peer(const boost::system::error_code& ec) noexcept;

}  // namespace cairn::http::client
