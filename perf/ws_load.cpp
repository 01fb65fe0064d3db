// The WebSocket load client of perf/ws_bench.sh: C connections over T
// threads (one io_context each), every connection echoing in a closed loop
// with W messages in flight. Prints messages/s, counted from the end of a
// warm-up to the deadline.
//
//   ws_load HOST PORT PATH_PREFIX [--connections C] [--threads T] [--window W]
//           [--size BYTES] [--seconds S] [--warmup S]
// Connection i opens PATH_PREFIX + i (e.g. /echo/c7): one echo object each.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bws = beast::websocket;
using tcp = net::ip::tcp;

namespace {

constexpr auto token = net::as_tuple(net::use_awaitable);

std::atomic<std::uint64_t> echoed{0};
std::atomic<bool> stopping{false};
std::atomic<unsigned> failures{0};

net::awaitable<void> connection(tcp::endpoint ep, std::string host, std::string path, unsigned window, std::string payload) {
  bws::stream<tcp::socket> ws(co_await net::this_coro::executor);
  auto [cec] = co_await ws.next_layer().async_connect(ep, token);
  if (cec) {
    ++failures;
    co_return;
  }
  ws.next_layer().set_option(tcp::no_delay(true));
  auto [hec] = co_await ws.async_handshake(host, path, token);
  if (hec) {
    std::fprintf(stderr, "ws_load: handshake with %s failed: %s\n", path.c_str(), hec.message().c_str());
    ++failures;
    co_return;
  }
  for (unsigned i = 0; i < window; ++i) {
    auto [wec, n] = co_await ws.async_write(net::buffer(payload), token);
    if (wec) co_return;
  }
  beast::flat_buffer buf;
  while (!stopping.load(std::memory_order_relaxed)) {
    auto [rec, n] = co_await ws.async_read(buf, token);
    if (rec) {
      ++failures;
      co_return;
    }
    if (buf.size() != payload.size()) {
      std::fprintf(stderr, "ws_load: an echo of %zu bytes, sent %zu\n", buf.size(), payload.size());
      ++failures;
      co_return;
    }
    buf.consume(buf.size());
    echoed.fetch_add(1, std::memory_order_relaxed);
    auto [wec, wn] = co_await ws.async_write(net::buffer(payload), token);
    if (wec) co_return;
  }
  beast::error_code ignored;
  ws.next_layer().close(ignored);
}

double arg(int argc, char** argv, std::string_view name, double fallback) {
  for (int i = 4; i + 1 < argc; ++i)
    if (name == argv[i]) return std::atof(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: ws_load HOST PORT PATH_PREFIX [--connections C] [--threads T] [--window W] "
                         "[--size BYTES] [--seconds S] [--warmup S]\n");
    return 2;
  }
  const std::string host = argv[1];
  const tcp::endpoint ep(net::ip::make_address(host), static_cast<unsigned short>(std::atoi(argv[2])));
  const std::string prefix = argv[3];
  const auto connections = static_cast<unsigned>(arg(argc, argv, "--connections", 64));
  const auto threads = static_cast<unsigned>(arg(argc, argv, "--threads", 2));
  const auto window = static_cast<unsigned>(arg(argc, argv, "--window", 1));
  const auto size = static_cast<std::size_t>(arg(argc, argv, "--size", 32));
  const double seconds = arg(argc, argv, "--seconds", 5);
  const double warmup = arg(argc, argv, "--warmup", 1);

  std::vector<std::unique_ptr<net::io_context>> ios;
  for (unsigned t = 0; t < threads; ++t) ios.push_back(std::make_unique<net::io_context>(1));
  for (unsigned i = 0; i < connections; ++i)
    net::co_spawn(*ios[i % threads], connection(ep, host, prefix + std::to_string(i), window, std::string(size, 'x')),
                  net::detached);
  std::vector<std::thread> pool;
  for (auto& io : ios) pool.emplace_back([&io] { io->run(); });

  using clock = std::chrono::steady_clock;
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
  const auto from = echoed.load();
  const auto t0 = clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const auto to = echoed.load();
  const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  stopping = true;
  for (auto& io : ios) io->stop();
  for (auto& t : pool) t.join();
  std::printf("messages/s %.0f\n", static_cast<double>(to - from) / elapsed);
  if (failures.load() != 0) {
    std::fprintf(stderr, "ws_load: %u connections failed\n", failures.load());
    return 1;
  }
  return 0;
}
