#pragma once
// An outbound request's URL, parsed and normalised once (Boost.URL): what
// the client connects to, what it asks for, and the origin its connections
// are pooled under. Private to io/.
#include <string>
#include <string_view>

#include <boost/url/url.hpp>

namespace cairn::http::client {

struct parsed_url {
  boost::urls::url url;  // normalised, without the fragment
  bool tls = false;      // https or wss
  bool websocket = false;
  std::string host;         // a name, or an address without brackets
  bool host_is_ip = false;  // IPv4 or IPv6 literal (no SNI, no DNS)
  std::string port;         // explicit or the scheme's default
  std::string host_header;  // host[:port] as the Host header wants it
  std::string target;       // path and query ("/" at least)
  std::string origin;       // scheme://host:port, the pool's key

  [[nodiscard]] const std::string& str() const noexcept { return text; }
  std::string text;
};

/// Parses an absolute http(s) URL (or ws(s) when `websocket`). Throws
/// fetch_error invalid_url or unsupported_scheme.
parsed_url parse_url(std::string_view text, bool websocket = false);

/// `location` (absolute or relative) resolved against `base`. Throws
/// fetch_error (protocol_error for an unparsable Location).
parsed_url resolve_redirect(const parsed_url& base, std::string_view location);

}  // namespace cairn::http::client
