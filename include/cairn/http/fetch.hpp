#pragma once
/// `cairn::fetch`: outbound HTTP and HTTPS from any actor (or task on a shard).
///
///   auto res = co_await cairn::fetch("https://api.example.com/v1/chat",
///                                    {.method = cairn::http::verb::post, .body = json});
///   while (auto piece = co_await res.next_chunk())   // as the server sends it (SSE)
///     consume(*piece);
///   // or: std::string all = co_await res.text();
///
/// Connections are kept per shard and origin and reused; HTTPS certificates
/// are checked against the system's store (and host names against them).
/// Redirects are followed up to a bound, each hop offered to a policy hook;
/// resolved addresses can be refused before connecting (both for the sandbox).
/// Like every output of an actor, a request waits until the actor's pending
/// writes are durable (the output gate); if that commit fails, fetch throws.
/// A fetch_response belongs to the shard that fetched it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/fields.hpp>

#include <cairn/http/message.hpp>
#include <cairn/task.hpp>

namespace cairn {
class runtime;
}

namespace cairn::http {

/// Why a fetch failed, for callers that react differently to each.
enum class fetch_errc {
  invalid_url,         // not an absolute http(s) or ws(s) URL
  unsupported_scheme,  // another scheme (file:, ftp:, ...)
  invalid_request,     // a header name or value that would break the request
  address_refused,     // fetch_options::allow_address refused every address
  resolve_failed,      // the host name does not resolve
  connect_failed,      // no address accepted the connection
  tls_failed,          // handshake failed: certificate not trusted, wrong host, protocol
  timed_out,           // one of fetch_options' timeouts
  too_many_redirects,  // more than fetch_options::max_redirects
  redirect_refused,    // the redirect hook said no, or redirect_mode::error
  body_too_large,      // more than the caller's bound (text(), headers)
  protocol_error,      // the peer's HTTP (or WebSocket) is malformed
  connection_closed,   // the peer closed or reset the connection mid-exchange
  output_void,         // the actor's commit failed: its outputs never leave
};

[[nodiscard]] std::string_view to_string(fetch_errc e) noexcept;

class fetch_error : public std::runtime_error {
 public:
  fetch_error(fetch_errc code, std::string url, const std::string& what);
  [[nodiscard]] fetch_errc code() const noexcept { return code_; }
  /// The URL being fetched when it failed (the hop, after redirects).
  [[nodiscard]] const std::string& url() const noexcept { return url_; }

 private:
  fetch_errc code_;
  std::string url_;
};

/// One redirect about to be followed.
struct redirect_hop {
  std::string from;  // the URL that answered with a redirect
  std::string to;    // the absolute, normalised URL it points to
  status code;       // 301, 302, 303, 307 or 308
  verb method;       // the method the next request will use
  int number;        // 1 for the first redirect
};

enum class redirect_mode {
  follow,  // follow (each hop through allow_redirect)
  manual,  // return the 3xx response as it is
  error,   // a redirect is a fetch_error (redirect_refused)
};

/// Not an aggregate on purpose: GCC 12 destroys an aggregate temporary
/// twice when it is built inside a co_await expression (`co_await
/// fetch(url, {.method = ...})`), so options are set by name:
///
///   cairn::http::fetch_options o;
///   o.method = cairn::http::verb::post;
///   o.body = json;
///   auto res = co_await cairn::fetch(url, std::move(o));
struct fetch_options {
  fetch_options() = default;

  verb method = verb::get;
  /// Sent as given; Host, Content-Length and User-Agent are filled in if absent.
  boost::beast::http::fields headers;
  std::string body;
  redirect_mode redirect = redirect_mode::follow;
  int max_redirects = 20;
  /// Asked before each redirect is followed; false refuses it (redirect_refused).
  std::function<bool(const redirect_hop&)> allow_redirect;
  /// Asked for every address the host resolves to, before connecting (also on
  /// every redirect hop); refused addresses are skipped, and if none is left
  /// the fetch fails with address_refused. For IP-literal hosts too.
  std::function<bool(std::string_view host, const boost::asio::ip::address&)> allow_address;
  /// Resolving and connecting (TCP and TLS) to one origin.
  std::chrono::milliseconds connect_timeout{10'000};
  /// From sending the request to the end of the response's header.
  std::chrono::milliseconds response_timeout{30'000};
  /// Waiting for the next piece of the body.
  std::chrono::milliseconds read_timeout{60'000};
  /// The response's status line and headers.
  std::size_t max_header_bytes = 64 * 1024;
};

namespace detail {
struct fetched;
}

class fetch_response {
 public:
  explicit fetch_response(std::unique_ptr<detail::fetched> state) noexcept;
  fetch_response(fetch_response&&) noexcept;
  fetch_response& operator=(fetch_response&&) noexcept;
  /// A body not read to its end closes the connection instead of reusing it.
  ~fetch_response();

  [[nodiscard]] status status_code() const noexcept;
  [[nodiscard]] unsigned status_int() const noexcept;
  [[nodiscard]] bool ok() const noexcept { return status_int() / 100 == 2; }
  [[nodiscard]] const boost::beast::http::fields& headers() const noexcept;
  /// The URL that answered (the last one, after redirects).
  [[nodiscard]] const std::string& url() const noexcept;
  /// How many redirects were followed to get here.
  [[nodiscard]] int redirects() const noexcept;

  /// The next piece of the body as it arrives (whatever the server has sent
  /// since the last call, up to 16 KiB; chunked encoding removed), or nothing
  /// at the end. Throws fetch_error (timed_out after read_timeout of silence).
  task<std::optional<std::string>> next_chunk();
  /// The rest of the body; past `max_bytes`, fetch_error body_too_large.
  task<std::string> text(std::size_t max_bytes = 64 * 1024 * 1024);

 private:
  std::unique_ptr<detail::fetched> state_;
};

/// Fetches `url` (http or https). Throws fetch_error, or not_on_shard when
/// called outside the runtime's threads.
task<fetch_response> fetch(std::string url, fetch_options options = {});

/// How the runtime's outbound client behaves; set before its first use.
struct client_settings {
  /// PEM file of certificates to trust besides the system's (a private CA).
  std::string extra_ca_file{};
  /// Idle connections kept per shard and origin.
  std::size_t max_idle_per_origin = 16;
  /// An idle connection older than this is closed instead of reused.
  std::chrono::milliseconds idle_timeout{30'000};
};

/// Throws std::logic_error once the client has been used, and
/// std::invalid_argument if extra_ca_file cannot be loaded.
void configure_client(runtime& rt, client_settings settings);

struct client_stats {
  std::uint64_t connections_opened = 0;  // TCP connections made (all shards)
  std::uint64_t connections_reused = 0;  // requests sent on a kept connection
};
[[nodiscard]] client_stats client_statistics(runtime& rt);

}  // namespace cairn::http

namespace cairn {
using http::fetch;
}
