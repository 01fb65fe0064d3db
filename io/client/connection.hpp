#pragma once
// One outbound HTTP/1.1 connection, plain or TLS, behind one interface so
// that fetch, its body reader and the pool need not care which. Private to io/.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>

#include <cairn/task.hpp>

#include "connect.hpp"

namespace cairn::http::client {

using response_parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

class connection {
 public:
  virtual ~connection() = default;

  /// Sends `request` (a whole serialised request) and reads the response's
  /// header into `p`, both within `timeout`.
  virtual task<boost::system::error_code> exchange(const std::string& request, response_parser& p,
                                                   std::chrono::milliseconds timeout) = 0;
  /// Reads more of the body into `p`'s buffer within `timeout` (need_buffer
  /// is not an error: the buffer is full).
  virtual task<boost::system::error_code> read_some(response_parser& p, std::chrono::milliseconds timeout) = 0;
  /// An idle connection whose peer has not closed it and sent nothing.
  [[nodiscard]] virtual bool still_usable() noexcept = 0;

  /// Bytes read past what the parser consumed; a reusable connection has none.
  boost::beast::flat_buffer buffer;
  /// The address it connected to: a fetch whose address policy refuses it
  /// must not reuse it from the pool.
  boost::asio::ip::address peer;
};

/// Opens a connection to `u` (TLS for https with `tls_ctx`). Throws fetch_error.
task<std::unique_ptr<connection>> open_connection(boost::asio::io_context& io, const parsed_url& u,
                                                  boost::asio::ssl::context& tls_ctx, const address_policy& allow,
                                                  std::chrono::milliseconds timeout);

}  // namespace cairn::http::client
