#include "fetch_grant.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cairn/http/fetch.hpp>

namespace cairn::sandbox::detail {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

// One part of a WHATWG IPv4 host: decimal, 0x hex or 0-prefixed octal.
bool ipv4_number(std::string_view p, std::uint64_t& v) {
  if (p.empty()) return false;
  int base = 10;
  if (p.size() >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p.remove_prefix(2);
  } else if (p.size() >= 2 && p[0] == '0') {
    base = 8;
    p.remove_prefix(1);
  }
  v = 0;
  for (char c : p) {
    const int d = hex_value(c);
    if (d < 0 || d >= base) return false;
    v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
    if (v > 0xffffffffULL) return false;
  }
  return true;
}

// The WHATWG IPv4 parser: "2130706433", "0x7f.1", "0177.0.0.1" are 127.0.0.1.
// Returns 0 if `host` is not an IPv4 host, 1 if it is (in `out`), -1 if it
// ends in a number but is not a valid address (the URL is invalid).
int parse_ipv4(std::string_view host, std::string& out) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (true) {
    const std::size_t j = host.find('.', i);
    parts.push_back(host.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  if (parts.size() > 1 && parts.back().empty()) parts.pop_back();
  std::uint64_t last = 0;
  const std::string_view tail = parts.back();
  const bool numeric_tail =
      !tail.empty() && (std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                        ((tail.size() >= 2 && tail[0] == '0' && (tail[1] == 'x' || tail[1] == 'X')) &&
                         std::all_of(tail.begin() + 2, tail.end(), [](char c) { return hex_value(c) >= 0; })));
  if (!numeric_tail) return 0;
  if (parts.size() > 4) return -1;
  std::vector<std::uint64_t> nums;
  for (auto p : parts) {
    std::uint64_t v = 0;
    if (!ipv4_number(p, v)) return -1;
    nums.push_back(v);
  }
  for (std::size_t k = 0; k + 1 < nums.size(); ++k)
    if (nums[k] > 255) return -1;
  last = nums.back();
  if (last >= (1ULL << (8 * (5 - nums.size())))) return -1;
  std::uint64_t addr = last;
  for (std::size_t k = 0; k + 1 < nums.size(); ++k) addr += nums[k] << (8 * (3 - k));
  out = std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 255) + "." + std::to_string((addr >> 8) & 255) +
        "." + std::to_string(addr & 255);
  return 1;
}

// The policy's rules with their prefixes normalised like the URLs they match
// (a prefix that is no URL is matched as written).
struct rule_set {
  explicit rule_set(const fetch_policy& p) {
    for (const auto& r : p.rules()) {
      std::string why;
      auto prefix = normalise_url(r.prefix, why);
      rules.emplace_back(prefix ? std::move(*prefix) : r.prefix, &r);
    }
  }
  [[nodiscard]] const allow_rule* match(const std::string& url) const {
    for (const auto& [prefix, rule] : rules)
      if (url.compare(0, prefix.size(), prefix) == 0) return rule;
    return nullptr;
  }
  std::vector<std::pair<std::string, const allow_rule*>> rules;
};

worker_instance::host_answer refused(errc code, std::string why) {
  worker_instance::host_answer a;
  a.ok = false;
  a.code = code;
  a.error = std::move(why);
  return a;
}

}  // namespace

std::optional<std::string> normalise_url(std::string_view text, std::string& why) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    why = "'" + std::string(text) + "' is not an absolute URL";
    return std::nullopt;
  }
  const boost::urls::url_view u = *parsed;
  std::string scheme(u.scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") {
    why = "only http and https URLs can be fetched, not '" + scheme + ":'";
    return std::nullopt;
  }
  if (u.has_userinfo()) {
    why = "URLs with credentials cannot be fetched";
    return std::nullopt;
  }
  std::string host;
  if (u.host_type() == boost::urls::host_type::ipv6) {
    host = "[" + u.host_ipv6_address().to_string() + "]";
  } else {
    if (!percent_decode(u.encoded_host(), host) || host.empty()) {
      why = "the URL has no valid host";
      return std::nullopt;
    }
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    for (unsigned char c : host)
      if (c <= 0x20 || c >= 0x7f || c == '%' || c == '/' || c == '\\' || c == '@' || c == ':' || c == '[' || c == ']') {
        why = "the URL's host has characters a host may not have";
        return std::nullopt;
      }
    std::string v4;
    const int ip = parse_ipv4(host, v4);
    if (ip < 0) {
      why = "the URL's host is not a valid IPv4 address";
      return std::nullopt;
    }
    if (ip > 0) host = v4;
    if (host.back() == '.') host.pop_back();
  }
  std::string out = scheme + "://" + host;
  if (u.has_port()) {
    const std::string port(u.port());
    const bool digits = !port.empty() && port.size() <= 5 &&
                        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoul(port) > 65535) {
      why = "the URL's port is not valid";
      return std::nullopt;
    }
    const unsigned long n = std::stoul(port);
    const bool dflt = (scheme == "http" && n == 80) || (scheme == "https" && n == 443);
    if (!dflt) out += ":" + std::to_string(n);
  }
  const std::string path(u.encoded_path());
  out += path.empty() ? "/" : path;
  if (u.has_query()) out += "?" + std::string(u.encoded_query());
  return out;
}

bool is_private_address(std::string_view ip) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(ip), ec);
  if (ec) return true;  // not an address we understand: treat as not public
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    return b[0] == 0 || b[0] == 10 || b[0] == 127 || (b[0] == 169 && b[1] == 254) ||
           (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64) || (b[0] == 192 && b[1] == 0 && b[2] == 0) || b[0] >= 224 ||
           (b[0] == 198 && (b[1] & 0xfe) == 18);
  }
  const auto v6 = a.to_v6();
  const auto b = v6.to_bytes();
  return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_site_local() || v6.is_multicast() ||
         (b[0] & 0xfe) == 0xfc ||
         std::all_of(b.begin(), b.begin() + 12, [](unsigned char x) { return x == 0; });  // ::a.b.c.d
}

task<worker_instance::host_answer> perform_fetch(fetch_policy policy, outbound_request req, unsigned requests_left,
                                                 std::size_t max_body) {
  worker_instance::host_answer a;
  if (policy.mode() == fetch_policy::kind::handler) {
    try {
      a.response = co_await policy.handler()(std::move(req));
      a.is_response = true;
    } catch (const std::exception& e) {
      a = refused(errc::guest_exception, std::string("fetch failed: ") + e.what());
    }
    co_return a;
  }
  std::string why;
  auto url = normalise_url(req.url, why);
  if (!url) co_return refused(errc::guest_exception, "fetch: " + why);
  auto rules = std::make_shared<const rule_set>(policy);
  const allow_rule* rule = rules->match(*url);
  if (!rule) co_return refused(errc::not_granted, "fetch to " + *url + " is not granted (no allow rule matches)");

  // The hooks run inside http::fetch on this shard; they share this state.
  struct hop_state {
    const allow_rule* rule;
    std::string refusal;
  };
  auto st = std::make_shared<hop_state>(hop_state{rule, {}});
  http::fetch_options o;
  const auto verb = boost::beast::http::string_to_verb(req.method);
  if (verb == boost::beast::http::verb::unknown)
    co_return refused(errc::guest_exception, "fetch: the method '" + req.method + "' is not supported");
  o.method = verb;
  for (const auto& [k, v] : req.headers) {
    try {
      o.headers.insert(k, v);
    } catch (const std::exception&) {
      co_return refused(errc::guest_exception, "fetch: the header '" + k + "' is not valid");
    }
  }
  o.body = std::move(req.body);
  o.max_redirects = static_cast<int>(requests_left > 0 ? requests_left - 1 : 0);
  o.allow_redirect = [st, rules](const http::redirect_hop& hop) {
    std::string w;
    auto next = normalise_url(hop.to, w);
    const allow_rule* r = next ? rules->match(*next) : nullptr;
    if (!r) {
      st->refusal = "fetch: the redirect from " + hop.from + " to " + hop.to + " is not granted (no allow rule matches)";
      return false;
    }
    st->rule = r;
    return true;
  };
  o.allow_address = [st](std::string_view host, const boost::asio::ip::address& addr) {
    if (st->rule->private_addresses || !is_private_address(addr.to_string())) return true;
    st->refusal = "fetch to " + std::string(host) + " is not granted: it resolves to the non-public address " +
                  addr.to_string() + " (an allow rule must grant private addresses)";
    return false;
  };
  try {
    auto resp = co_await http::fetch(*url, std::move(o));
    a.response.status = resp.status_int();
    for (const auto& f : resp.headers()) a.response.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    a.response.url = resp.url();
    a.response.body = co_await resp.text(max_body);
    a.is_response = true;
  } catch (const http::fetch_error& e) {
    switch (e.code()) {
      case http::fetch_errc::redirect_refused:
      case http::fetch_errc::address_refused:
        a = refused(errc::not_granted, st->refusal.empty() ? e.what() : st->refusal);
        break;
      case http::fetch_errc::too_many_redirects:
        a = refused(errc::request_limit, "fetch: the redirects passed the call's limit of outbound requests");
        break;
      case http::fetch_errc::body_too_large:
        a = refused(errc::result_too_large, std::string("fetch: ") + e.what());
        break;
      default:
        a = refused(errc::guest_exception, std::string("fetch failed: ") + e.what());
    }
  } catch (const std::exception& e) {
    a = refused(errc::guest_exception, std::string("fetch failed: ") + e.what());
  }
  co_return a;
}

}  // namespace cairn::sandbox::detail
