// cairn::fetch: one exchange per hop on a pooled connection, redirects
// through the caller's policy, and the body read as it arrives.
#include <cairn/http/fetch.hpp>

#include <unordered_map>
#include <utility>

#include <cairn/detail/shard.hpp>
#include <cairn/errors.hpp>
#include <cairn/runtime.hpp>

#include "client/client_service.hpp"
#include "client/connection.hpp"
#include "client/url.hpp"
#include "gated.hpp"

namespace cairn::http {

using client::connection;
using client::parsed_url;

namespace detail {

/// A response whose header has arrived and whose body may still be coming.
struct fetched {
  std::unique_ptr<connection> conn;
  client::response_parser parser;
  std::weak_ptr<client::connection_pool> pool;
  std::string origin;
  std::string url;
  int redirects = 0;
  std::chrono::milliseconds read_timeout{};
  bool failed = false;

  /// Reads the next piece of the body into `into` from `offset` (at most
  /// `room` bytes); returns how many arrived, 0 at the end.
  task<std::size_t> read_into(std::string& into, std::size_t offset, std::size_t room) {
    while (!parser.is_done()) {
      if (failed || !conn) throw fetch_error(fetch_errc::connection_closed, url, "the body is no longer readable");
      if (into.size() < offset + room) into.resize(offset + room);
      auto& body = parser.get().body();
      body.data = into.data() + offset;
      body.size = room;
      const auto ec = co_await conn->read_some(parser, read_timeout);
      if (ec) {
        failed = true;
        conn.reset();
        throw client::failure(ec, url, "reading the body");
      }
      if (const std::size_t n = room - parser.get().body().size) co_return n;
    }
    release();
    co_return 0;
  }

  /// The body ended: the connection goes back to its pool if it can serve again.
  void release() noexcept {
    if (!conn) return;
    auto c = std::move(conn);
    if (!parser.keep_alive() || c->buffer.size() != 0) return;
    if (auto p = pool.lock()) {
      try {
        p->give(origin, std::move(c));
      } catch (...) {  // out of memory: just close it
      }
    }
  }
};

}  // namespace detail

namespace {

constexpr std::size_t piece_bytes = 16 * 1024;  // at most one next_chunk() returns

/// The parsed form of the URLs this thread fetched lately: a virtual user or
/// an agent fetches the same few URLs over and over.
std::shared_ptr<const parsed_url> parse_cached(const std::string& url) {
  thread_local std::unordered_map<std::string, std::shared_ptr<const parsed_url>> cache;
  if (auto it = cache.find(url); it != cache.end()) return it->second;
  auto parsed = std::make_shared<const parsed_url>(client::parse_url(url));
  if (cache.size() >= 256) cache.clear();
  cache.emplace(url, parsed);
  return parsed;
}

bool is_redirect(unsigned s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

/// RFC 9110 token characters, for header names.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c >= 'a' && c <= 'z') continue;
    if (c >= 'A' && c <= 'Z') continue;
    if (c >= '0' && c <= '9') continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

/// The request as it goes on the wire (HTTP/1.1). Headers are checked, so
/// that no caller (the sandbox's guests included) can split the request.
/// Host and User-Agent are added if absent; Content-Length is always ours.
std::string make_request(const parsed_url& u, verb method, const boost::beast::http::fields& headers,
                         const std::string& body) {
  if (method == verb::unknown)
    throw fetch_error(fetch_errc::invalid_request, u.str(), "the method is not one HTTP defines");
  std::string out;
  out.reserve(128 + u.target.size() + body.size());
  out += boost::beast::http::to_string(method);
  out += ' ';
  out += u.target;
  out += " HTTP/1.1\r\n";
  bool host = false, agent = false;
  for (const auto& f : headers) {
    const auto name = f.name_string();
    const auto value = f.value();
    if (!is_token(name)) throw fetch_error(fetch_errc::invalid_request, u.str(), "a header name is malformed");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
      throw fetch_error(fetch_errc::invalid_request, u.str(),
                        "the value of header " + std::string(name) + " holds a line break or NUL");
    if (f.name() == field::content_length || f.name() == field::transfer_encoding) continue;
    host = host || f.name() == field::host;
    agent = agent || f.name() == field::user_agent;
    out.append(name.data(), name.size()).append(": ").append(value.data(), value.size()).append("\r\n");
  }
  if (!host) out.append("Host: ").append(u.host_header).append("\r\n");
  if (!agent) out += "User-Agent: cairn\r\n";
  if (!body.empty() || method == verb::post || method == verb::put || method == verb::patch)
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out += "\r\n";
  out += body;
  return out;
}

/// Sends the request on a kept connection to the origin or a new one and
/// reads the response's header. A kept connection the server had closed
/// meanwhile is replaced once.
task<std::unique_ptr<detail::fetched>> exchange(cairn::detail::shard& sh, client::client_service& svc,
                                                const parsed_url& u, const std::string& req, verb method,
                                                const fetch_options& o) {
  auto pool = svc.pool(sh.index());
  for (bool first = true;; first = false) {
    std::unique_ptr<connection> conn = first ? pool->take(u.origin) : nullptr;
    // Pooled by origin for every caller: one whose policy refuses the address
    // it leads to opens its own, which the policy then checks.
    if (conn && o.allow_address && !o.allow_address(u.host, conn->peer)) conn.reset();
    const bool reused = conn != nullptr;
    if (reused) {
      ++svc.reused;
    } else {
      conn = co_await client::open_connection(sh.io(), u, svc.tls(), o.allow_address, o.connect_timeout);
      ++svc.opened;
    }
    auto f = std::make_unique<detail::fetched>();
    f->parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(o.max_header_bytes, UINT32_MAX)));
    f->parser.body_limit(boost::none);  // the reader bounds what it keeps
    if (method == verb::head) f->parser.skip(true);
    const auto ec = co_await conn->exchange(req, f->parser, o.response_timeout);
    if (!ec) {
      f->conn = std::move(conn);
      f->pool = pool;
      f->origin = u.origin;
      f->url = u.str();
      f->read_timeout = o.read_timeout;
      co_return f;
    }
    if (reused && !f->parser.got_some() && client::closed_by_peer(ec)) continue;
    throw client::failure(ec, u.str(), "the exchange with " + u.host_header);
  }
}

/// Reads and drops a redirect's (small) body so its connection can serve the
/// next hop; a big one just closes the connection.
task<void> discard_body(detail::fetched& f) {
  std::string sink;
  std::size_t total = 0;
  while (total < 64 * 1024) {
    const std::size_t n = co_await f.read_into(sink, 0, 4096);
    if (n == 0) co_return;
    total += n;
  }
  f.conn.reset();
}

/// What the request of the next hop changes (Fetch standard, "HTTP-redirect fetch").
void prepare_next_hop(const parsed_url& from, const parsed_url& to, unsigned code, verb& method, std::string& body,
                      boost::beast::http::fields& headers) {
  if ((code == 303 && method != verb::head) || ((code == 301 || code == 302) && method == verb::post)) {
    method = verb::get;
    body.clear();
    for (auto f : {field::content_type, field::content_length, field::content_encoding, field::content_language,
                   field::transfer_encoding})
      headers.erase(f);
  }
  if (from.origin != to.origin) {  // credentials never follow a redirect to another origin
    headers.erase(field::authorization);
    headers.erase(field::proxy_authorization);
    headers.erase(field::cookie);
    headers.erase(field::host);
  }
}

}  // namespace

std::string_view to_string(fetch_errc e) noexcept {
  switch (e) {
    case fetch_errc::invalid_url: return "invalid_url";
    case fetch_errc::unsupported_scheme: return "unsupported_scheme";
    case fetch_errc::invalid_request: return "invalid_request";
    case fetch_errc::address_refused: return "address_refused";
    case fetch_errc::resolve_failed: return "resolve_failed";
    case fetch_errc::connect_failed: return "connect_failed";
    case fetch_errc::tls_failed: return "tls_failed";
    case fetch_errc::timed_out: return "timed_out";
    case fetch_errc::too_many_redirects: return "too_many_redirects";
    case fetch_errc::redirect_refused: return "redirect_refused";
    case fetch_errc::body_too_large: return "body_too_large";
    case fetch_errc::protocol_error: return "protocol_error";
    case fetch_errc::connection_closed: return "connection_closed";
    case fetch_errc::output_void: return "output_void";
  }
  return "unknown";
}

fetch_error::fetch_error(fetch_errc code, std::string url, const std::string& what)
    : std::runtime_error("fetch " + url + ": " + what), code_(code), url_(std::move(url)) {}

fetch_response::fetch_response(std::unique_ptr<detail::fetched> state) noexcept : state_(std::move(state)) {}
fetch_response::fetch_response(fetch_response&&) noexcept = default;
fetch_response& fetch_response::operator=(fetch_response&&) noexcept = default;
fetch_response::~fetch_response() = default;

status fetch_response::status_code() const noexcept { return state_->parser.get().result(); }
unsigned fetch_response::status_int() const noexcept { return state_->parser.get().result_int(); }
const boost::beast::http::fields& fetch_response::headers() const noexcept { return state_->parser.get(); }
const std::string& fetch_response::url() const noexcept { return state_->url; }
int fetch_response::redirects() const noexcept { return state_->redirects; }

task<std::optional<std::string>> fetch_response::next_chunk() {
  std::string piece;
  const std::size_t n = co_await state_->read_into(piece, 0, piece_bytes);
  if (n == 0) co_return std::nullopt;
  piece.resize(n);
  co_return piece;
}

task<std::string> fetch_response::text(std::size_t max_bytes) {
  auto too_large = [&] {
    state_->conn.reset();
    return fetch_error(fetch_errc::body_too_large, state_->url,
                       "the body is larger than " + std::to_string(max_bytes) + " bytes");
  };
  const auto length = state_->parser.content_length();  // known unless chunked or until-close
  if (length && *length > max_bytes) throw too_large();
  std::string all;
  std::size_t used = 0;
  for (;;) {
    // Exactly the rest of a known length; else room that doubles (no big
    // zero-filled buffer for a small body).
    const std::size_t room = length ? std::max<std::size_t>(*length - used, 1) : std::max<std::size_t>(used, 4096);
    const std::size_t n = co_await state_->read_into(all, used, room);
    if (n == 0) break;
    used += n;
    if (used > max_bytes) throw too_large();
  }
  all.resize(used);
  co_return all;
}

task<fetch_response> fetch(std::string url, fetch_options o) {
  auto* sh = cairn::detail::shard::current();
  if (!sh) throw not_on_shard("cairn::http::fetch");
  auto u = parse_cached(url);
  if (!co_await detail::output_gate_passed())
    throw fetch_error(fetch_errc::output_void, u->str(), "the actor's storage commit failed; the request was not sent");
  auto& svc = client::client_service::of(*sh);

  verb method = o.method;
  std::string body = std::move(o.body);
  for (int hop = 0;; ++hop) {
    auto req = make_request(*u, method, o.headers, body);
    auto f = co_await exchange(*sh, svc, *u, req, method, o);
    f->redirects = hop;
    const unsigned code = f->parser.get().result_int();
    const auto location = f->parser.get()[field::location];
    if (!is_redirect(code) || location.empty() || o.redirect == redirect_mode::manual)
      co_return fetch_response(std::move(f));
    if (o.redirect == redirect_mode::error)
      throw fetch_error(fetch_errc::redirect_refused, u->str(), "redirected to " + std::string(location));
    if (hop >= o.max_redirects)
      throw fetch_error(fetch_errc::too_many_redirects, u->str(),
                        "more than " + std::to_string(o.max_redirects) + " redirects");
    auto next = std::make_shared<const parsed_url>(client::resolve_redirect(*u, location));
    prepare_next_hop(*u, *next, code, method, body, o.headers);
    if (o.allow_redirect &&
        !o.allow_redirect(redirect_hop{u->str(), next->str(), static_cast<status>(code), method, hop + 1}))
      throw fetch_error(fetch_errc::redirect_refused, next->str(),
                        "the redirect policy refused it (from " + u->str() + ")");
    co_await discard_body(*f);
    u = std::move(next);
  }
}

void configure_client(runtime& rt, client_settings settings) {
  client::client_service::of(rt).configure(std::move(settings));
}

client_stats client_statistics(runtime& rt) {
  auto& svc = client::client_service::of(rt);
  return {svc.opened.load(), svc.reused.load()};
}

}  // namespace cairn::http
