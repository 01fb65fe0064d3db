// The bare Beast peer of the HTTP benchmark: HTTP/1.1 keep-alive, a fixed
// 200 "hello", one thread and io_context per core listening on the same port
// (SO_REUSEPORT), each connection a C++20 coroutine. No routing, no actors:
// what Asio and Beast cost on their own, built the way cairn's server is.
//
//   beast_hello PORT [THREADS]     prints "listening on PORT" when ready (PORT 0: a free one)
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto token = net::as_tuple(net::use_awaitable);

net::awaitable<void> serve(tcp::socket sock) {
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buf;
  for (;;) {
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buf, req, token);
    if (ec) co_return;
    http::response<http::string_body> res(http::status::ok, req.version());
    res.set(http::field::content_type, "text/plain");
    res.body() = "hello";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, token);
    if (wec || !res.keep_alive()) co_return;
  }
}

net::awaitable<void> accept(tcp::acceptor& acc) {
  for (;;) {
    auto [ec, sock] = co_await acc.async_accept(token);
    if (ec) continue;
    net::co_spawn(acc.get_executor(), serve(std::move(sock)), net::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: beast_hello PORT [THREADS]\n");
    return 2;
  }
  auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const unsigned threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : std::thread::hardware_concurrency();
  std::vector<std::unique_ptr<net::io_context>> ios;
  std::vector<std::unique_ptr<tcp::acceptor>> accs;
  for (unsigned t = 0; t < threads; ++t) {
    auto& io = *ios.emplace_back(std::make_unique<net::io_context>(1));
    auto& acc = *accs.emplace_back(std::make_unique<tcp::acceptor>(io));
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    acc.open(ep.protocol());
    acc.set_option(net::socket_base::reuse_address(true));
    acc.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acc.bind(ep);
    acc.listen(net::socket_base::max_listen_connections);
    port = acc.local_endpoint().port();  // the rest bind the port the first one got
    net::co_spawn(io, accept(acc), net::detached);
  }
  std::printf("listening on %u\n", port);
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back([&, t] { ios[t]->run(); });
  ios[0]->run();
}
