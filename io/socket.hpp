#pragma once
// The server's socket types: bound to the io_context's own executor rather
// than Asio's type-erased any_io_executor, whose copies (Beast makes one per
// operation) cost ~9% of a WebSocket echo. Private to io/.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace cairn::http::detail {

using socket_executor = boost::asio::io_context::executor_type;
using tcp_socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, socket_executor>;
using tcp_acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, socket_executor>;

}  // namespace cairn::http::detail
