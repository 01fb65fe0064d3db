// The WebSocket load client of perf/http_bench.sh: C connections over T
// threads (one io_context each), every connection echoing in a closed loop
// with W messages in flight. Prints messages/s, counted from the end of a
// warm-up to the deadline. Beast makes the handshake; the client then writes
// and reads the frames itself, a batch per syscall (see connection()).
//
//   ws_load HOST PORT PATH_PREFIX [--connections C] [--threads T] [--window W]
//           [--size BYTES] [--seconds S] [--warmup S] [--shared-path 1] [--senders N]
// Connection i opens PATH_PREFIX + i (e.g. /echo/c7): one echo object each.
// Broadcast (perf/js_bench.sh): --shared-path 1 opens PATH_PREFIX itself for
// every connection (one room), and only the first N connections send; each
// keeps W messages in flight, counting the broadcasts it gets back. The
// figure is then every frame any connection received: deliveries per second.
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
#include <random>
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

// One masked text frame carrying `payload` (at most 125 bytes).
std::string client_frame(const std::string& payload) {
  std::random_device rd;
  const std::uint32_t key = rd();
  std::string f;
  f += static_cast<char>(0x81);                              // FIN, text
  f += static_cast<char>(0x80 | payload.size());             // masked, 7-bit length
  for (int i = 0; i < 4; ++i) f += static_cast<char>((key >> (8 * i)) & 0xff);
  for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ f[2 + i % 4]);
  return f;
}

net::awaitable<void> connection(tcp::endpoint ep, std::string host, std::string path, unsigned window, std::string payload,
                                bool sender) {
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
  // After the handshake the client speaks the framing itself: every read
  // takes all the echoes that arrived, and one write answers each with a new
  // message, so the client spends a syscall per batch rather than per
  // message and leaves the cores to the server. The frames are what Beast
  // would send: text, FIN, masked (RFC 6455 5.3; the key is random per
  // connection), and the server's are checked to be exactly the echoes.
  auto& sock = ws.next_layer();
  const std::string frame = client_frame(payload);
  const std::size_t echo_size = 2 + payload.size();  // unmasked text frame, 7-bit length
  std::string out;
  for (unsigned i = 0; i < window && sender; ++i) out += frame;
  if (sender)
    if (auto [wec, n] = co_await net::async_write(sock, net::buffer(out), token); wec) co_return;
  std::string in;
  std::vector<char> chunk(64 * 1024);
  while (!stopping.load(std::memory_order_relaxed)) {
    auto [rec, n] = co_await sock.async_read_some(net::buffer(chunk), token);
    if (rec) {
      ++failures;
      co_return;
    }
    in.append(chunk.data(), n);
    std::size_t whole = in.size() / echo_size;
    for (std::size_t k = 0; k < whole; ++k) {
      const char* f = in.data() + k * echo_size;
      if (static_cast<unsigned char>(f[0]) != 0x81 || static_cast<unsigned char>(f[1]) != payload.size() ||
          std::string_view(f + 2, payload.size()) != payload) {
        std::fprintf(stderr, "ws_load: a frame that is not the echo of the message\n");
        ++failures;
        co_return;
      }
    }
    if (whole == 0) continue;
    in.erase(0, whole * echo_size);
    echoed.fetch_add(whole, std::memory_order_relaxed);
    if (!sender) continue;
    out.clear();
    for (std::size_t k = 0; k < whole; ++k) out += frame;
    if (auto [wec, wn] = co_await net::async_write(sock, net::buffer(out), token); wec) co_return;
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
  if (size == 0 || size > 125) {
    std::fprintf(stderr, "ws_load: --size is 1 to 125 bytes (one frame with a 7-bit length)\n");
    return 2;
  }
  const double seconds = arg(argc, argv, "--seconds", 5);
  const double warmup = arg(argc, argv, "--warmup", 1);
  const bool shared = arg(argc, argv, "--shared-path", 0) != 0;
  const auto senders = static_cast<unsigned>(arg(argc, argv, "--senders", connections));

  std::vector<std::unique_ptr<net::io_context>> ios;
  for (unsigned t = 0; t < threads; ++t) ios.push_back(std::make_unique<net::io_context>(1));
  for (unsigned i = 0; i < connections; ++i)
    net::co_spawn(*ios[i % threads],
                  connection(ep, host, shared ? prefix : prefix + std::to_string(i), window, std::string(size, 'x'),
                             i < senders),
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
