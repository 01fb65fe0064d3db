// The connection side of an accepted WebSocket (websocket_session.hpp).
#include "websocket_session.hpp"

#include <array>
#include <cstdio>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cairn/detail/shard.hpp>
#include <cairn/use_task.hpp>
#include <cairn/when_all.hpp>

#include "websocket_state.hpp"

namespace cairn::http::detail {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
using tcp = net::ip::tcp;

constexpr auto as_result = net::as_tuple(cairn::use_task);

/// The connection's socket as the next layer of Beast's WebSocket stream,
/// for one change: after the server sends a close frame it reads (and drops)
/// what the client still sends until the client closes. Beast 1.81's own
/// teardown stops after the first read and closes with unread data, so the
/// kernel resets the connection and the client never sees the close code
/// (a 1009 after an oversized message, for one). Beast's close timeout
/// bounds the wait.
///
/// And one more: while the writer knows more messages are queued (`held`
/// points at the frames so far), a write only appends to them and completes;
/// the write of the burst's last frame sends them all in one go. Beast's own
/// frames (pongs) take the same path, so the order on the wire is Beast's.
struct ws_socket {
  tcp_socket& s;
  std::string* held = nullptr;  // frames not sent yet
  bool* holding = nullptr;      // the writer has more frames coming

  using executor_type = socket_executor;
  executor_type get_executor() { return s.get_executor(); }
  template <class Buffers, class Handler>
  auto async_read_some(const Buffers& b, Handler&& h) {
    return s.async_read_some(b, std::forward<Handler>(h));
  }
  template <class Buffers, class Handler>
  auto async_write_some(const Buffers& b, Handler&& h) {
    if (!held || (!*holding && held->empty())) return s.async_write_some(b, std::forward<Handler>(h));
    return net::async_initiate<Handler, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& buffers) {
          const std::size_t n = net::buffer_size(buffers);
          for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it)
            held->append(static_cast<const char*>(net::const_buffer(*it).data()), net::const_buffer(*it).size());
          if (*holding) {  // more follow: taken, sent with them
            auto ex = net::get_associated_executor(handler, s.get_executor());
            net::post(ex, [h = std::move(handler), n]() mutable { h(boost::system::error_code(), n); });
            return;
          }
          net::async_write(s, net::buffer(*held),
                           [this, h = std::move(handler), n](boost::system::error_code ec, std::size_t) mutable {
                             held->clear();
                             h(ec, ec ? 0 : n);
                           });
        },
        h, b);
  }

  friend void beast_close_socket(ws_socket& w) {
    boost::system::error_code ignored;
    w.s.close(ignored);
  }

  /// Shuts down sending, drains until the client's end of stream, closes.
  struct drain_op {
    tcp_socket& s;
    std::unique_ptr<std::array<char, 4096>> buf = std::make_unique<std::array<char, 4096>>();
    bool reading = false;
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t = 0) {
      if (!reading) {
        reading = true;
        s.shutdown(tcp::socket::shutdown_send, ec);  // a failure shows in the read below
      } else if (ec) {
        boost::system::error_code ignored;
        s.close(ignored);
        self.complete(ec == net::error::eof ? boost::system::error_code() : ec);
        return;
      }
      s.async_read_some(net::buffer(*buf), std::move(self));
    }
  };
  template <class Handler>
  friend void async_teardown(beast::role_type, ws_socket& w, Handler&& h) {
    net::async_compose<Handler, void(boost::system::error_code)>(drain_op{w.s}, h, w.s);
  }
};
using ws_stream = bws::stream<ws_socket>;

struct session {
  ws_stream ws;
  std::shared_ptr<websocket_state> socket;
  websocket_registry& registry;
  websocket_target target;
  bool close_sent = false;  // we started the closing handshake
  std::string held{};       // frames held back in a burst (ws_socket)
  bool holding = false;
  std::size_t max_send_queue_bytes = 0;

  /// Drains the frames queued for the client until a close, the end or a failure.
  task<void> write_loop() {
    auto& io = cairn::detail::shard::current()->io();
    ws_out f;
    for (;;) {
      *ws.next_layer().holding = false;
      const auto ev = co_await socket->next(io, f);
      if (ev == websocket_state::event::aborted && socket->overflowed()) {
        boost::system::error_code ignored;  // it does not read: no close frame would reach it
        ws.next_layer().s.shutdown(net::socket_base::shutdown_both, ignored);
      }
      if (ev != websocket_state::event::item) co_return;
      if (f.what == ws_out::kind::close) {
        close_sent = true;
        co_await ws.async_close(bws::close_reason(static_cast<bws::close_code>(f.code), *f.data), as_result);
        co_return;  // the reader sees the end of the handshake
      }
      // Hold this frame back if another is queued already (up to 64 KiB).
      *ws.next_layer().holding = held.size() < 64 * 1024 && socket->has_queued();
      ws.binary(f.what == ws_out::kind::binary);
      auto [ec, n] = co_await ws.async_write(net::buffer(*f.data), as_result);
      if (ec) {
        socket->consumer_gone();
        boost::system::error_code ignored;
        ws.next_layer().s.shutdown(net::socket_base::shutdown_both, ignored);  // the reader ends too
        co_return;
      }
    }
  }

  /// Hands each message to the actor, one at a time, until the socket ends.
  task<void> read_loop() {
    const websocket handle(socket);
    beast::flat_buffer buf;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buf, as_result);
      if (ec) {
        co_await end(ec);
        co_return;
      }
      ws_message m{beast::buffers_to_string(buf.data()), !ws.got_text()};
      buf.consume(buf.size());
      if (!m.binary) {
        if (auto reply = registry.auto_reply(socket->owner, m.data)) {
          socket->push(ws_out{ws_out::kind::text, std::move(reply), 0});  // the actor is not woken
          continue;
        }
      }
      try {
        co_await target.message(handle, std::move(m));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "cairn: websocket_message of %s failed: %s\n", socket->owner.namespace_name().c_str(), e.what());
        socket->start_close(close_code::internal_error, "internal error");
      }
    }
  }

  /// The socket ended: off the actor's list, the writer stops, the actor hears why.
  task<void> end(boost::system::error_code ec) {
    registry.retire(*socket);
    const websocket handle(socket);
    try {
      if (ec == bws::error::closed) {
        if (!close_sent && target.close) co_await target.close(handle, ws.reason().code, std::string(ws.reason().reason.data(), ws.reason().reason.size()));
      } else if (target.error) {
        // Named, not a temporary inside the co_await (GCC 12 mishandles those).
        std::string why = socket->overflowed() ? "the client did not read: more than " +
                                                     std::to_string(max_send_queue_bytes) + " bytes waited to be sent"
                                               : ec.message();
        co_await target.error(handle, std::move(why));
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cairn: websocket close handler of %s failed: %s\n", socket->owner.namespace_name().c_str(), e.what());
    }
  }
};

/// Headers the actor set on its 101 response, except those the handshake owns.
bool carried_into_handshake(field f) {
  switch (f) {
    case field::upgrade:
    case field::connection:
    case field::sec_websocket_accept:
    case field::content_length:
    case field::transfer_encoding:
      return false;
    default:
      return true;
  }
}

}  // namespace

task<void> run_websocket(tcp_socket& sock, const request& upgrade, response accepted,
                         const websocket_limits& limits) {
  auto up = accepted.websocket_upgrade();
  up->adopted = true;
  session s{ws_stream(ws_socket{sock}), up->socket, *up->registry, std::move(up->target)};
  s.ws.next_layer().held = &s.held;
  s.ws.next_layer().holding = &s.holding;
  up.reset();
  accepted.set_websocket_upgrade(nullptr);

  s.ws.read_message_max(limits.max_message_bytes);
  s.max_send_queue_bytes = limits.max_send_queue_bytes;
  s.socket->bound(limits.max_send_queue_bytes);
  s.ws.auto_fragment(false);
  bws::stream_base::timeout t{};
  t.handshake_timeout = limits.handshake_timeout;
  t.idle_timeout = limits.idle_timeout;
  t.keep_alive_pings = true;
  s.ws.set_option(t);
  s.ws.set_option(bws::stream_base::decorator([&accepted](bws::response_type& r) {
    for (auto& f : accepted)
      if (carried_into_handshake(f.name())) r.set(f.name_string(), f.value());
  }));

  auto [ec] = co_await s.ws.async_accept(upgrade, as_result);
  if (ec) {
    s.registry.retire(*s.socket);
    co_return;
  }
  co_await when_all(s.read_loop(), s.write_loop());
}

}  // namespace cairn::http::detail
