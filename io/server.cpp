// The HTTP server: one listening socket per shard (SO_REUSEPORT), one task per
// connection on the shard that accepted it, requests routed by `router`.
#include <cairn/http/server.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <list>
#include <optional>
#include <system_error>
#include <vector>

#include <cairn/detail/shard.hpp>
#include <cairn/http/stream.hpp>
#include <cairn/sleep.hpp>
#include <cairn/spawn.hpp>
#include <cairn/use_task.hpp>

#include "body_stream.hpp"
#include "socket.hpp"
#include "websocket_session.hpp"
#include "websocket_state.hpp"

namespace cairn::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto as_result = net::as_tuple(cairn::use_task);

using steady = std::chrono::steady_clock;

/// One connection, living in its task's frame; listed on its shard so that
/// the shard's sweep can close it past its deadline, and a stop while it
/// waits for a request. (A deadline per connection checked by one timer per
/// shard, instead of a timer armed around every read and write: that cost
/// 10% of a small request.)
struct connection {
  explicit connection(detail::tcp_socket s) : sock(std::move(s)) {}
  void arm(std::chrono::milliseconds d) { deadline = steady::now() + d; }
  void disarm() { deadline = steady::time_point::max(); }

  detail::tcp_socket sock;
  steady::time_point deadline = steady::time_point::max();
  bool idle = false;  // waiting for the first byte of a request
  std::shared_ptr<detail::body_stream> streaming;  // the body being streamed, if any
  std::shared_ptr<detail::websocket_state> websocket;  // once the connection became one
  bool handed_off = false;  // its socket went to another shard
};

/// A socket between two shards' io_contexts: closed if it never arrives (a stop).
struct released_socket {
  released_socket(int f, tcp::endpoint::protocol_type p) : fd(f), protocol(p) {}
  released_socket(released_socket&& o) noexcept : fd(std::exchange(o.fd, -1)), protocol(o.protocol) {}
  released_socket& operator=(released_socket&&) = delete;
  ~released_socket() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
  tcp::endpoint::protocol_type protocol;
};

/// What a WebSocket gets when the server stops.
void close_for_stop(detail::websocket_state& ws) { ws.start_close(close_code::going_away, "server stopping"); }

/// The status for a request that could not be read, or nullopt to just close.
std::optional<status> read_failure_status(const boost::system::error_code& ec) {
  if (ec == bhttp::error::header_limit) return status::request_header_fields_too_large;
  if (ec == bhttp::error::body_limit) return status::payload_too_large;
  static const auto& http_errors = bhttp::make_error_code(bhttp::error::end_of_stream).category();
  if (ec.category() == http_errors && ec != bhttp::error::end_of_stream &&
      ec != bhttp::error::partial_message)
    return status::bad_request;
  return std::nullopt;  // end of stream, reset, timeout: nobody to answer
}

}  // namespace

struct server::state : std::enable_shared_from_this<server::state> {
  state(runtime& r, router rt, server_options o) : rt(r), routes(std::move(rt)), opts(std::move(o)) {}

  /// What each shard owns (touched on that shard's thread only).
  struct per_shard {
    std::optional<detail::tcp_acceptor> acceptor;
    std::list<connection*> connections;
  };

  runtime& rt;
  const router routes;
  const server_options opts;
  std::vector<per_shard> shards;
  std::atomic<std::uint16_t> port{0};
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopping{false};

  /// Binds shard `i`'s listening socket (on that shard) to `port`.
  task<std::uint16_t> listen(unsigned i, std::uint16_t want) {
    auto& io = cairn::detail::shard::current()->io();
    tcp::endpoint ep(net::ip::make_address(opts.address), want);
    auto& acc = shards[i].acceptor.emplace(io);
    acc.open(ep.protocol());
    acc.set_option(net::socket_base::reuse_address(true));
    acc.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acc.bind(ep);
    acc.listen(net::socket_base::max_listen_connections);
    spawn(accept_loop(shared_from_this(), i));
    spawn(sweep(shared_from_this(), i));
    co_return acc.local_endpoint().port();
  }

  static task<void> accept_loop(std::shared_ptr<state> self, unsigned i) {
    auto& acc = *self->shards[i].acceptor;
    while (!self->stopping.load(std::memory_order_acquire) && acc.is_open()) {
      auto [ec, sock] = co_await acc.async_accept(as_result);
      if (ec == net::error::operation_aborted || !acc.is_open()) break;
      if (ec) {
        // Out of descriptors (or a transient error): back off instead of spinning.
        co_await sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      if (self->open.fetch_add(1, std::memory_order_relaxed) >= self->opts.max_connections) {
        spawn(refuse(self, std::move(sock)));
        continue;
      }
      spawn(serve(self, i, std::move(sock)));
    }
  }

  /// Ends the connection's pending read or write with an error. The shutdown
  /// makes the kernel finish a pending receive whatever the cancellation does.
  static void end_io(connection& c) noexcept {
    boost::system::error_code ignored;
    c.sock.shutdown(tcp::socket::shutdown_both, ignored);
    c.sock.close(ignored);
  }

  /// Closes the connections of shard `i` whose deadline passed, until the stop.
  static task<void> sweep(std::shared_ptr<state> self, unsigned i) {
    using std::chrono::milliseconds;
    const auto shortest = std::min({self->opts.read_timeout, self->opts.idle_timeout, self->opts.write_timeout});
    const auto every = std::clamp(shortest / 4, milliseconds(10), milliseconds(250));
    while (!self->stopping.load(std::memory_order_acquire)) {
      co_await sleep_for(every);
      const auto now = steady::now();
      std::vector<connection*> late;  // collected first: closing may resume a connection
      for (connection* c : self->shards[i].connections)
        if (c->deadline <= now) late.push_back(c);
      for (connection* c : late) {
        c->disarm();
        end_io(*c);
      }
    }
  }

  /// Over the connection cap: 503, then close.
  static task<void> refuse(std::shared_ptr<state> self, detail::tcp_socket sock) {
    static constexpr std::string_view reply =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
        "Connection: close\r\nRetry-After: 1\r\n\r\ntoo many connections";
    beast::basic_stream<tcp, detail::socket_executor> stream(std::move(sock));
    stream.expires_after(self->opts.write_timeout);
    co_await net::async_write(stream, net::buffer(reply), as_result);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    self->open.fetch_sub(1, std::memory_order_relaxed);
  }

  /// Lists connection `c` on shard `i` for the sweep and the stop; unlists,
  /// closes and uncounts it at the end, unless it was handed to another shard.
  struct listing {
    listing(state& s, unsigned i, connection& c) : self(s), list(s.shards[i].connections), at(list.insert(list.end(), &c)), conn(c) {}
    ~listing() {
      list.erase(at);
      if (conn.handed_off) return;
      boost::system::error_code ignored;
      conn.sock.shutdown(tcp::socket::shutdown_both, ignored);
      conn.sock.close(ignored);
      self.open.fetch_sub(1, std::memory_order_relaxed);
    }
    listing(const listing&) = delete;
    listing& operator=(const listing&) = delete;
    state& self;
    std::list<connection*>& list;
    std::list<connection*>::iterator at;
    connection& conn;
  };

  static task<void> serve(std::shared_ptr<state> self, unsigned i, detail::tcp_socket sock) {
    connection c(std::move(sock));
    listing listed(*self, i, c);
    try {
      co_await self->serve_requests(c, i);
    } catch (const std::exception& e) {
      self->routes_error(e.what());
    }
  }

  /// A WebSocket handed over by the shard that read its upgrade request: it
  /// runs on the shard of its actor, so that messages and sends never hop.
  static task<void> serve_websocket(std::shared_ptr<state> self, unsigned i, released_socket fd, request upgrade,
                                    response accepted) {
    connection c(detail::tcp_socket(cairn::detail::shard::current()->io(), fd.protocol, std::exchange(fd.fd, -1)));
    listing listed(*self, i, c);
    try {
      co_await self->serve_as_websocket(c, std::move(upgrade), std::move(accepted));
    } catch (const std::exception& e) {
      self->routes_error(e.what());
    }
  }

  /// Runs connection `c` (on its actor's shard) as the WebSocket `accepted` opens.
  task<void> serve_as_websocket(connection& c, request upgrade, response accepted) {
    c.websocket = accepted.websocket_upgrade()->socket;
    boost::system::error_code ignored;
    c.sock.set_option(tcp::no_delay(true), ignored);  // small messages leave at once, not behind Nagle
    if (stopping.load(std::memory_order_acquire)) close_for_stop(*c.websocket);
    co_await detail::run_websocket(c.sock, upgrade, std::move(accepted), websocket_limits());
  }

  void routes_error(const char* what) const noexcept { std::fprintf(stderr, "cairn: http connection: %s\n", what); }

  task<void> serve_requests(connection& c, unsigned i) {
    beast::flat_buffer buf;
    for (;;) {
      // Wait for the first byte of the next request (unless one is buffered).
      if (buf.size() == 0) {
        if (stopping.load(std::memory_order_acquire)) co_return;
        c.idle = true;
        c.arm(opts.idle_timeout);
        auto [ec, n] = co_await c.sock.async_read_some(buf.prepare(4096), as_result);
        c.idle = false;
        if (ec) co_return;  // closed, idle too long, or stopped
        buf.commit(n);
      }
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
      parser.body_limit(opts.max_body_bytes);
      c.arm(opts.read_timeout);
      auto [hec, hn] = co_await bhttp::async_read_header(c.sock, buf, parser, as_result);
      if (!hec && parser.get()[field::expect] == "100-continue" && !parser.is_done()) {
        bhttp::response<bhttp::empty_body> cont(status::continue_, parser.get().version());
        auto [cec, cn] = co_await bhttp::async_write(c.sock, cont, as_result);
        if (cec) co_return;
      }
      if (!hec && !parser.is_done()) {
        auto [bec, bn] = co_await bhttp::async_read(c.sock, buf, parser, as_result);
        hec = bec;
      }
      if (hec) {
        if (auto s = read_failure_status(hec)) co_await write_error(c, *s);
        co_return;
      }
      request req = parser.release();
      const bool head = req.method() == verb::head;
      const bool keep = req.keep_alive();
      const unsigned version = req.version();
      std::optional<request> upgrade;  // the handshake needs the request the route consumes
      if (is_websocket_upgrade(req)) upgrade.emplace(req);
      c.disarm();  // the handler takes what it takes
      response res = co_await routes.route(std::move(req));
      if (res.websocket_upgrade()) {
        if (upgrade && res.websocket_upgrade()->target.message) {
          const unsigned home = rt.core().shard_index(res.websocket_upgrade()->socket->owner);
          if (home == i) co_return co_await serve_as_websocket(c, std::move(*upgrade), std::move(res));
          hand_over(c, home, std::move(*upgrade), std::move(res));
          co_return;
        }
        res = make_response(status::internal_server_error, upgrade ? "this actor class takes no WebSocket messages\n"
                                                                   : "a WebSocket accepted without an upgrade request\n");
      }
      res.version(version);
      const bool again = keep && res.keep_alive() && !stopping.load(std::memory_order_acquire);
      res.keep_alive(again);
      if (head) {
        const auto size = res.body().size();
        res.body().clear();
        res.content_length(size);
      }
      if (res.body_stream()) {
        c.streaming = res.body_stream();
        const bool ok = co_await send_streamed(c, res, head);
        c.streaming.reset();
        if (!ok || !again) co_return;
        continue;
      }
      c.arm(opts.write_timeout);
      bhttp::response_serializer<bhttp::string_body> sr(res);
      if (head) sr.split(true);
      auto [wec, wn] = head ? co_await bhttp::async_write_header(c.sock, sr, as_result)
                            : co_await bhttp::async_write(c.sock, sr, as_result);
      if (wec || !again) co_return;
    }
  }

  /// The header, then each chunk as the writer produces it, then the end.
  /// False if the connection cannot go on (the client left, or the writer's
  /// output became void and the body was cut off).
  task<bool> send_streamed(connection& c, response& res, bool head) {
    auto st = res.body_stream();
    st->bound(opts.max_send_queue_bytes);
    res.chunked(true);
    bhttp::response_serializer<bhttp::string_body> sr(res);
    sr.split(true);
    c.arm(opts.write_timeout);
    auto [hec, hn] = co_await bhttp::async_write_header(c.sock, sr, as_result);
    if (hec || head) {
      st->consumer_gone();
      co_return !hec;
    }
    auto& io = cairn::detail::shard::current()->io();
    std::string chunk;
    for (;;) {
      c.disarm();  // a stream may idle as long as its writer likes
      const auto ev = co_await st->next(io, chunk);
      c.arm(opts.write_timeout);
      if (ev == detail::body_stream::event::aborted) {
        st->consumer_gone();
        co_return false;
      }
      if (ev == detail::body_stream::event::end) {
        auto [eec, en] = co_await net::async_write(c.sock, bhttp::make_chunk_last(), as_result);
        co_return !eec;
      }
      auto [cec, cn] = co_await net::async_write(c.sock, bhttp::make_chunk(net::buffer(chunk)), as_result);
      if (cec) {
        st->consumer_gone();
        co_return false;
      }
    }
  }

  /// Moves the connection's socket to shard `home`, which runs the WebSocket.
  void hand_over(connection& c, unsigned home, request upgrade, response accepted) {
    boost::system::error_code ec;
    const auto protocol = c.sock.local_endpoint(ec).protocol();
    if (ec) return;  // the socket closes with the connection
    released_socket fd(c.sock.release(ec), protocol);
    if (ec) return;
    c.handed_off = true;
    net::post(rt.core().shard_at(home).io(), [self = shared_from_this(), home, fd = std::move(fd), up = std::move(upgrade),
                                              res = std::move(accepted)]() mutable {
      spawn(serve_websocket(self, home, std::move(fd), std::move(up), std::move(res)));
    });
  }

  [[nodiscard]] detail::websocket_limits websocket_limits() const noexcept {
    return {opts.max_websocket_message_bytes, opts.read_timeout, opts.websocket_idle_timeout, opts.max_send_queue_bytes};
  }

  task<void> write_error(connection& c, status s) {
    response res = make_response(s, std::string(bhttp::obsolete_reason(s)) + "\n");
    res.keep_alive(false);
    c.arm(opts.write_timeout);
    co_await bhttp::async_write(c.sock, res, as_result);
  }

  /// From any thread: every shard stops listening and closes its idle connections.
  void stop() noexcept {
    if (stopping.exchange(true)) return;
    auto self = shared_from_this();
    for (unsigned i = 0; i < shards.size(); ++i)
      net::post(rt.core().shard_at(i).io(), [self, i] { self->stop_shard(i); });
  }

  /// On shard `i`: no more accepts; idle connections close.
  void stop_shard(unsigned i) {
    auto& sh = shards[i];
    if (sh.acceptor) {
      boost::system::error_code ignored;
      sh.acceptor->close(ignored);
    }
    std::vector<connection*> idle;  // collected first: closing may resume a connection
    for (connection* c : sh.connections) {
      if (c->idle) idle.push_back(c);
      if (c->streaming) c->streaming->finish();  // the body ends after what is queued
      if (c->websocket) close_for_stop(*c->websocket);
    }
    for (connection* c : idle) end_io(*c);
  }
};

server::server(runtime& rt, router routes, server_options options)
    : state_(std::make_shared<state>(rt, std::move(routes), std::move(options))) {
  state_->shards.resize(rt.shard_count());
  std::weak_ptr<state> weak = state_;
  rt.core().on_stop([weak] {
    if (auto s = weak.lock()) s->stop();
  });
}

server::~server() { stop(); }

void server::start() {
  auto& s = *state_;
  std::uint16_t port = s.opts.port;
  for (unsigned i = 0; i < s.shards.size(); ++i) {
    try {
      port = s.rt.block_on(s.listen(i, port), i);
    } catch (const boost::system::system_error& e) {
      stop();
      throw std::system_error(e.code(), "cairn: cannot listen on " + s.opts.address + ":" + std::to_string(port));
    }
  }
  s.port.store(port, std::memory_order_release);
}

std::uint16_t server::port() const noexcept { return state_->port.load(std::memory_order_acquire); }

std::size_t server::connections() const noexcept { return state_->open.load(std::memory_order_relaxed); }

void server::stop() noexcept { state_->stop(); }

}  // namespace cairn::http
