#pragma once
/// HTTP messages as cairn's server hands them to handlers and actors: Beast's
/// request and response with the whole body in a string.
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace cairn::http {

using status = boost::beast::http::status;
using verb = boost::beast::http::verb;
using field = boost::beast::http::field;
using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

/// A response with `body` and its Content-Type (HTTP/1.1).
[[nodiscard]] response make_response(status s, std::string body, std::string_view content_type = "text/plain");

}  // namespace cairn::http
