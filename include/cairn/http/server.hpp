#pragma once
/// `cairn::http::server`: HTTP/1.1 on every shard of a runtime.
///
///   cairn::http::server srv(rt, std::move(routes), {.port = 8080});
///   srv.start();                      // binds (throws if it cannot), then accepts
///   ... srv.port() ...
///   rt.stop();                        // the server stops with the runtime, gracefully
///
/// Each shard listens on the same port (SO_REUSEPORT: the kernel spreads the
/// connections) and serves its connections on its own thread. Requests are
/// read whole; keep-alive is the HTTP/1.1 default. A connection an actor
/// accepted as a WebSocket (websocket.hpp) stays with the server until it
/// closes, whatever the actor does meanwhile (hibernate, for instance).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <cairn/http/router.hpp>
#include <cairn/runtime.hpp>

namespace cairn::http {

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see server::port())
  /// Request line and headers: beyond it 431.
  std::size_t max_header_bytes = 16 * 1024;
  /// Request body: beyond it 413.
  std::size_t max_body_bytes = 1024 * 1024;
  /// From the first byte of a request to its last: beyond it the connection closes.
  std::chrono::milliseconds read_timeout{10'000};
  /// A kept-alive connection waiting for its next request: beyond it close.
  std::chrono::milliseconds idle_timeout{60'000};
  /// Sending a response: beyond it close.
  std::chrono::milliseconds write_timeout{30'000};
  /// Open connections over all shards: one more is answered 503 and closed.
  std::size_t max_connections = 10'000;
  /// A WebSocket message (all its frames): beyond it the socket closes with 1009.
  std::size_t max_websocket_message_bytes = 32 * 1024 * 1024;
  /// A WebSocket silent this long is pinged at half of it and closed at all
  /// of it. (Its opening and closing handshakes take read_timeout.)
  std::chrono::milliseconds websocket_idle_timeout{60'000};
  /// What an actor sent that waits for a slow client (a WebSocket's messages,
  /// a streamed body's chunks): beyond it the client is disconnected (a
  /// WebSocket's actor hears it in websocket_error) and sends return false.
  /// One message alone always fits.
  std::size_t max_send_queue_bytes = 16 * 1024 * 1024;
};

class server {
 public:
  server(runtime& rt, router routes, server_options options = {});
  /// Stops (as stop()); connections still open finish on their own (they
  /// keep the server's state alive), and the runtime's stop waits for them.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Starts the runtime if needed, listens on every shard and accepts.
  /// Throws std::system_error if the address cannot be bound.
  void start();
  /// The bound port (after start()).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Graceful: stops listening; a request being read or answered finishes
  /// (its response says Connection: close); idle connections close. Does
  /// not block. The runtime's stop() calls it too.
  void stop() noexcept;
  /// Open connections now (all shards).
  [[nodiscard]] std::size_t connections() const noexcept;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace cairn::http
