#pragma once
/// WebSockets into actors, with hibernation.
///
///   struct room : cairn::actor {
///     cairn::task<cairn::http::response> fetch(cairn::http::request req) {
///       co_return cairn::http::accept_websocket(req, {.tags = {"player"}});
///     }
///     cairn::task<void> websocket_message(cairn::http::websocket ws, cairn::http::ws_message m) {
///       cairn::http::broadcast(*this, m.data);           // to every socket of this actor
///       co_return;
///     }
///     // optional: websocket_close(websocket, std::uint16_t code, std::string reason),
///     //           websocket_error(websocket, std::string what)
///   };
///
/// The io layer owns the socket: the actor may hibernate while its clients
/// stay connected, and the next message wakes it (a new instance) with its
/// sockets, their tags and attachments as they were. Messages of one socket
/// reach the actor in order, one at a time. Protocol pings, and the
/// auto-response (set_websocket_auto_response), are answered without waking
/// it. What an actor sends after a storage write leaves only once the write
/// is durable (the output gate).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <cairn/actor_ref.hpp>
#include <cairn/http/message.hpp>
#include <cairn/http/ws_message.hpp>
#include <cairn/task.hpp>

namespace cairn {
class actor;
}

namespace cairn::http {

namespace detail {
class websocket_state;
}

/// Limits of an accepted socket (DESIGN.md 4).
inline constexpr std::size_t max_websocket_tags = 10;
inline constexpr std::size_t max_websocket_tag_bytes = 256;
inline constexpr std::size_t max_websocket_attachment_bytes = 16 * 1024;

/// A handle on one accepted socket. Cheap to copy; stays valid after the
/// socket closed (sends are then ignored). Thread-safe.
class websocket {
 public:
  websocket() = default;
  explicit websocket(std::shared_ptr<detail::websocket_state> s) noexcept : state_(std::move(s)) {}

  /// Queues a message for the client; through the output gate when called
  /// from an actor. False once the socket is closed or closing.
  bool send(std::string data, bool binary = false);
  /// Starts the closing handshake with `code` (1000, or 3000-4999 for an
  /// application's own) and `reason` (at most 123 bytes; longer is cut).
  void close(std::uint16_t code = close_code::normal, std::string_view reason = {});
  [[nodiscard]] bool open() const noexcept;

  /// The tags given at accept.
  [[nodiscard]] const std::vector<std::string>& tags() const noexcept;
  /// The attachment: bytes kept with the socket across hibernation.
  [[nodiscard]] std::string attachment() const;
  /// Replaces it; throws std::length_error beyond 16 KiB.
  void serialize_attachment(std::string bytes);

  /// Unique among the sockets of this process.
  [[nodiscard]] std::uint64_t id() const noexcept;
  [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }
  friend bool operator==(const websocket& a, const websocket& b) noexcept { return a.state_ == b.state_; }

  [[nodiscard]] const std::shared_ptr<detail::websocket_state>& state() const noexcept { return state_; }

 private:
  std::shared_ptr<detail::websocket_state> state_;
};

struct websocket_accept {
  std::vector<std::string> tags;  // at most 10, each 1-256 bytes
  std::string attachment;         // at most 16 KiB
};

/// Called in the running actor's `fetch` with an upgrade request: the
/// response to return, which switches the connection to a WebSocket owned by
/// this actor. The socket is listed (websockets()) and can be sent to at
/// once; what is sent before the handshake completes follows it. Headers
/// set on the returned response (Sec-WebSocket-Protocol, for instance) join
/// the 101 response. Throws std::invalid_argument if `req` is not a
/// WebSocket upgrade or the tags or attachment break the limits, and
/// std::logic_error outside an actor's handler.
[[nodiscard]] response accept_websocket(const request& req, websocket_accept options = {});

/// Whether `req` asks for a WebSocket upgrade.
[[nodiscard]] bool is_websocket_upgrade(const request& req) noexcept;

/// The open sockets of actor `self`, in accept order; with a tag, only those carrying it.
[[nodiscard]] std::vector<websocket> websockets(const actor& self, std::string_view tag = {});
/// Sends to every open socket of `self` (with `tag` if given) except
/// `except`; returns how many it queued to. One copy of `data` is shared.
std::size_t broadcast(const actor& self, std::string_view data, const websocket& except = {},
                      std::string_view tag = {}, bool binary = false);

/// Text messages equal to `request` on any socket of `self` are answered
/// with `reply` by the io layer, without waking or waiting for the actor.
/// Kept across hibernation; an empty `request` removes it.
void set_websocket_auto_response(const actor& self, std::string request, std::string reply);

/// An actor class that takes WebSocket messages (websocket_close and
/// websocket_error are optional).
template <class T>
concept websocket_actor = requires(T& a, websocket ws, ws_message m) { a.websocket_message(ws, std::move(m)); };

namespace detail {

/// How a connection reaches the actor that accepted it; bound by
/// router::expose, called by the connection for each event.
struct websocket_target {
  std::function<task<void>(websocket, ws_message)> message;
  std::function<task<void>(websocket, std::uint16_t, std::string)> close;  // may be empty
  std::function<task<void>(websocket, std::string)> error;                // may be empty
};

/// Binds `t` to the socket `res` accepts.
void bind_websocket_target(response& res, websocket_target t);

template <class T>
task<void> deliver_message(actor_ref<T> r, websocket ws, ws_message m) {
  co_await r.call(&T::websocket_message, std::move(ws), std::move(m));
}
template <class T>
task<void> deliver_close(actor_ref<T> r, websocket ws, std::uint16_t code, std::string reason) {
  co_await r.call(&T::websocket_close, std::move(ws), code, std::move(reason));
}
template <class T>
task<void> deliver_error(actor_ref<T> r, websocket ws, std::string what) {
  co_await r.call(&T::websocket_error, std::move(ws), std::move(what));
}

template <websocket_actor T>
websocket_target websocket_target_for(actor_ref<T> r) {
  websocket_target t;
  t.message = [r](websocket ws, ws_message m) { return deliver_message(r, std::move(ws), std::move(m)); };
  if constexpr (requires(T& a, websocket ws, std::string s) { a.websocket_close(ws, std::uint16_t{}, s); })
    t.close = [r](websocket ws, std::uint16_t c, std::string s) { return deliver_close(r, std::move(ws), c, std::move(s)); };
  if constexpr (requires(T& a, websocket ws, std::string s) { a.websocket_error(ws, s); })
    t.error = [r](websocket ws, std::string s) { return deliver_error(r, std::move(ws), std::move(s)); };
  return t;
}

}  // namespace detail

}  // namespace cairn::http
