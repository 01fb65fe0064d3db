#pragma once
/// HTTP messages as cairn's server hands them to handlers and actors: Beast's
/// request with the whole body in a string, and a response that is Beast's
/// (whole body in a string), a header whose body streams (stream.hpp), or
/// the switch to a WebSocket (websocket.hpp).
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace cairn::http {

using status = boost::beast::http::status;
using verb = boost::beast::http::verb;
using field = boost::beast::http::field;
using request = boost::beast::http::request<boost::beast::http::string_body>;

namespace detail {
class body_stream;
struct websocket_upgrade;
}

class response : public boost::beast::http::response<boost::beast::http::string_body> {
 public:
  using base = boost::beast::http::response<boost::beast::http::string_body>;
  using base::base;
  response() = default;
  response(base b) : base(std::move(b)) {}  // NOLINT: a Beast response is a response

  /// Set for a streamed body (make_streamed_response): the server sends the
  /// header, then each chunk as it is written.
  [[nodiscard]] const std::shared_ptr<detail::body_stream>& body_stream() const noexcept { return stream_; }
  void set_body_stream(std::shared_ptr<detail::body_stream> s) noexcept { stream_ = std::move(s); }

  /// Set by accept_websocket (websocket.hpp): the connection becomes that socket.
  [[nodiscard]] const std::shared_ptr<detail::websocket_upgrade>& websocket_upgrade() const noexcept { return upgrade_; }
  void set_websocket_upgrade(std::shared_ptr<detail::websocket_upgrade> u) noexcept { upgrade_ = std::move(u); }

 private:
  std::shared_ptr<detail::body_stream> stream_;
  std::shared_ptr<detail::websocket_upgrade> upgrade_;
};

/// A response with `body` and its Content-Type (HTTP/1.1).
[[nodiscard]] response make_response(status s, std::string body, std::string_view content_type = "text/plain");

}  // namespace cairn::http
