#pragma once
// A blocking WebSocket client for tests (Beast), with reads that give up.
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace cairn_test {

namespace net = boost::asio;
namespace bws = boost::beast::websocket;

/// A blocking socket that retries a call a signal interrupted. Asio's
/// io_uring service queues task work for the thread that closed a socket,
/// and a blocking call with a timeout (SO_RCVTIMEO) then returns EINTR
/// without having moved any data.
struct retrying_socket {
  net::ip::tcp::socket s;

  using executor_type = net::ip::tcp::socket::executor_type;
  executor_type get_executor() { return s.get_executor(); }
  template <class Buffers>
  std::size_t read_some(const Buffers& b, boost::system::error_code& ec) {
    for (;;) {
      const std::size_t n = s.read_some(b, ec);
      if (ec != net::error::interrupted) return n;
    }
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& b, boost::system::error_code& ec) {
    for (;;) {
      const std::size_t n = s.write_some(b, ec);
      if (ec != net::error::interrupted) return n;
    }
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& b) {
    boost::system::error_code ec;
    const std::size_t n = read_some(b, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& b) {
    boost::system::error_code ec;
    const std::size_t n = write_some(b, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  friend void teardown(boost::beast::role_type role, retrying_socket& r, boost::system::error_code& ec) {
    bws::teardown(role, r.s, ec);
  }
};

/// A blocking client whose reads give up after 10 s.
struct ws_client {
  explicit ws_client(std::uint16_t port, const std::string& path) : ws(retrying_socket{net::ip::tcp::socket(io)}) {
    auto& sock = ws.next_layer().s;
    sock.connect({net::ip::make_address("127.0.0.1"), port});
    const timeval limit{10, 0};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ws.handshake("127.0.0.1", path);
  }
  std::string ask(const std::string& text) {
    ws.write(net::buffer(text));
    return next();
  }
  /// The next message; "closed <code>" when the server closed instead.
  std::string next() {
    boost::beast::flat_buffer buf;
    boost::system::error_code ec;
    ws.read(buf, ec);
    if (ec == bws::error::closed) return "closed " + std::to_string(ws.reason().code);
    if (ec) return "error " + ec.message();
    return boost::beast::buffers_to_string(buf.data());
  }
  net::io_context io;
  bws::stream<retrying_socket> ws;
};

}  // namespace cairn_test
