#include "url.hpp"

#include <boost/url/parse.hpp>

#include <cairn/http/fetch.hpp>

namespace cairn::http::client {

namespace {

[[noreturn]] void invalid(std::string_view text, const std::string& why) {
  throw fetch_error(fetch_errc::invalid_url, std::string(text), why);
}

}  // namespace

parsed_url parse_url(std::string_view text, bool websocket) {
  auto r = boost::urls::parse_uri(text);
  if (!r) invalid(text, "not an absolute URL: " + r.error().message());
  parsed_url p;
  p.url = *r;
  p.url.normalize();
  p.url.remove_fragment();
  p.url.remove_userinfo();  // credentials belong in headers, never on the wire's request line

  const auto scheme = p.url.scheme();
  const bool http = scheme == "http" || scheme == "https";
  const bool ws = scheme == "ws" || scheme == "wss";
  if (websocket ? !ws : !http)
    throw fetch_error(fetch_errc::unsupported_scheme, std::string(text),
                      "scheme '" + std::string(scheme) + "' is not supported (" +
                          (websocket ? "ws or wss" : "http or https") + " only)");
  p.websocket = ws;
  p.tls = scheme == "https" || scheme == "wss";

  switch (p.url.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      p.host = p.url.host_address();
      p.host_is_ip = true;
      break;
    case boost::urls::host_type::name:
      p.host = p.url.host_name();
      break;
    default:
      break;
  }
  if (p.host.empty()) invalid(text, "the URL has no host");
  if (p.host.find_first_of(" \t\r\n/\\") != std::string::npos) invalid(text, "the host is malformed");

  const bool default_port = !p.url.has_port() || p.url.port().empty();
  p.port = default_port ? (p.tls ? "443" : "80") : std::string(p.url.port());
  if (!default_port && (p.url.port_number() == 0 || p.port.size() > 5)) invalid(text, "the port is out of range");
  const std::string bracketed = p.url.host_type() == boost::urls::host_type::ipv6 ? "[" + p.host + "]" : p.host;
  p.host_header = default_port ? bracketed : bracketed + ":" + p.port;
  p.origin = std::string(scheme) + "://" + bracketed + ":" + p.port;
  p.target = p.url.encoded_target();
  if (p.target.empty() || p.target.front() != '/') p.target.insert(0, "/");
  p.text = p.url.buffer();
  return p;
}

parsed_url resolve_redirect(const parsed_url& base, std::string_view location) {
  auto ref = boost::urls::parse_uri_reference(location);
  if (!ref)
    throw fetch_error(fetch_errc::protocol_error, base.str(),
                      "the redirect's Location is not a URL: " + std::string(location.substr(0, 200)));
  boost::urls::url next = base.url;
  if (auto r = next.resolve(*ref); !r)
    throw fetch_error(fetch_errc::protocol_error, base.str(), "the redirect's Location does not resolve");
  return parse_url(next.buffer());
}

}  // namespace cairn::http::client
