#pragma once
/// Outbound WebSockets (ws and wss) from any actor or task on a shard.
///
///   auto ws = co_await cairn::http::connect_websocket("wss://example.com/feed");
///   co_await ws.send("hello");
///   while (auto m = co_await ws.receive()) use(m->data);
///   // closed: ws.close_code(), ws.close_reason()
///
/// One send and one receive may be in progress at the same time (a reader
/// task and a writer), not two of either. Protocol pings are answered by the
/// client; a silent peer is pinged and, if still silent, the socket closes.
/// Sends obey the actor's output gate, like every output of an actor. A
/// client belongs to the shard that connected it; destroying an open one
/// drops the connection without a closing handshake.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/fields.hpp>

#include <cairn/http/ws_message.hpp>
#include <cairn/task.hpp>

namespace cairn::http {

/// Set by name, not as an aggregate (see fetch_options).
struct websocket_client_options {
  websocket_client_options() = default;

  /// Added to the opening handshake (Authorization, Origin, Sec-WebSocket-Protocol).
  boost::beast::http::fields headers;
  /// As fetch_options::allow_address.
  std::function<bool(std::string_view host, const boost::asio::ip::address&)> allow_address;
  std::chrono::milliseconds connect_timeout{10'000};
  /// The opening and the closing handshake.
  std::chrono::milliseconds handshake_timeout{10'000};
  /// Silence this long: a ping at half of it, closed at all of it.
  std::chrono::milliseconds idle_timeout{60'000};
  /// A bigger incoming message closes the socket with 1009.
  std::size_t max_message_bytes = 32 * 1024 * 1024;
};

namespace detail {
class websocket_connection;
}

class websocket_client {
 public:
  explicit websocket_client(std::unique_ptr<detail::websocket_connection> c) noexcept;
  websocket_client(websocket_client&&) noexcept;
  websocket_client& operator=(websocket_client&&) noexcept;
  ~websocket_client();

  /// Sends one message. Throws fetch_error (connection_closed once closed).
  task<void> send(std::string data, bool binary = false);
  /// The next message, or nothing once the socket closed (see close_code()).
  /// Throws fetch_error when the connection fails without a close.
  task<std::optional<ws_message>> receive();
  /// The closing handshake with `code` and `reason` (at most 123 bytes).
  task<void> close(std::uint16_t code = close_code::normal, std::string reason = {});

  [[nodiscard]] bool is_open() const noexcept;
  /// The peer's close code once closed (1005 if it gave none, 1006 if the
  /// connection dropped without one).
  [[nodiscard]] std::uint16_t close_code() const noexcept;
  [[nodiscard]] const std::string& close_reason() const noexcept;
  /// The subprotocol the server chose, if any.
  [[nodiscard]] const std::string& protocol() const noexcept;

 private:
  std::unique_ptr<detail::websocket_connection> c_;
};

/// Opens a WebSocket to `url` (ws or wss). Throws fetch_error (with
/// protocol_error when the server answers the upgrade with anything but 101).
task<websocket_client> connect_websocket(std::string url, websocket_client_options options = {});

}  // namespace cairn::http
