// WebSockets from inside the process: the output gate on sends (a disk
// fault injected under the actor), and the API's refusals. The behaviour on
// the wire is tested with Node's `ws` client (test/ws/websocket.test.mjs).
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <cairn/cairn.hpp>
#include <cairn/http/server.hpp>
#include <cairn/http/websocket.hpp>
#include <cairn/storage.hpp>
#include <cairn/testing/fault_vfs.hpp>

#include "support.hpp"
#include "ws_client.hpp"

namespace {

namespace net = boost::asio;
namespace bws = boost::beast::websocket;
using namespace cairn::http;
using cairn_test::ws_client;

/// Counts in storage and tells the socket each new value.
class gated_room : public cairn::actor {
 public:
  cairn::task<response> fetch(request req) { co_return accept_websocket(req); }
  void websocket_message(websocket ws, ws_message) {
    const auto n = storage().get_as<std::int64_t>("n").value_or(0) + 1;
    storage().put("n", n);
    ws.send("write " + std::to_string(n));  // may leave only once n is durable
  }
};

/// Answers each message with 256 KiB; records why a socket ended with an error.
class flooder : public cairn::actor {
 public:
  static inline std::mutex mutex;
  static inline std::string error;
  static inline std::atomic<int> refused{0};

  cairn::task<response> fetch(request req) { co_return accept_websocket(req); }
  void websocket_message(websocket ws, ws_message m) {
    if (m.data == "burst") {  // many frames in one turn: sent in few writes, in order
      for (int i = 0; i < 2000; ++i) ws.send(std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i % 300), 'b'));
      return;
    }
    if (!ws.send(std::string(256 * 1024, m.data.empty() ? 'x' : m.data[0]))) ++refused;
  }
  void websocket_error(websocket, std::string what) {
    std::lock_guard lock(mutex);
    error = std::move(what);
  }
};

/// A server with the flooder at /flood/<name>; stops with the runtime
/// (close the test's clients first).
struct flood_server {
  explicit flood_server(server_options o = {}) : srv(make(rt, std::move(o))) { srv.start(); }
  ~flood_server() {
    rt.stop();
    rt.run();
  }
  static server make(cairn::runtime& rt, server_options o) {
    router r;
    r.expose("flood", rt.register_namespace<flooder>("flood"));
    return server(rt, std::move(r), std::move(o));
  }
  cairn::runtime rt{cairn_test::shards(2)};
  server srv;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(websocket_api)

BOOST_AUTO_TEST_CASE(a_message_sent_after_a_failed_commit_never_leaves) {
  cairn_test::temp_dir dir;
  cairn::runtime rt(cairn_test::with_disk_faults(dir, 2));
  router r;
  r.expose("room", rt.register_namespace<gated_room>("room"));
  server srv(rt, std::move(r));
  srv.start();

  ws_client a(srv.port(), "/room/r");
  BOOST_TEST(a.ask("write") == "write 1");
  cairn::testing::fail_writes(true);
  const std::string after_failure = a.ask("write");
  cairn::testing::fail_writes(false);
  // "write 2" was never durable: instead of it, the socket closes with 1011.
  BOOST_TEST(after_failure == "closed 1011");
  ws_client b(srv.port(), "/room/r");
  BOOST_TEST(b.ask("write") == "write 2");  // restarted from what was stored
  b.ws.close(bws::close_code::normal);
  rt.stop();
  rt.run();
}

BOOST_AUTO_TEST_CASE(a_client_that_does_not_read_is_disconnected) {
  server_options o;
  o.max_send_queue_bytes = 1024 * 1024;
  flood_server f(o);
  auto& srv = f.srv;

  ws_client lazy(srv.port(), "/flood/f");
  // 400 requests for 256 KiB each (100 MiB), and no reads: once the kernel's
  // buffers are full, what waits for this client passes 1 MiB. The server may
  // drop the client before it has sent them all: its next write then fails.
  try {
    for (int i = 0; i < 400; ++i) lazy.ws.write(net::buffer(std::string("a")));
  } catch (const boost::system::system_error&) {
  }
  std::string error;
  for (int i = 0; i < 1000 && error.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(flooder::mutex);
    error = flooder::error;
  }
  BOOST_TEST(error.find("did not read") != std::string::npos, error);
  // The server keeps serving others (and the actor, that socket off its list).
  ws_client other(srv.port(), "/flood/f");
  BOOST_TEST(other.ask("b").size() == 256u * 1024);
  other.ws.close(bws::close_code::normal);
}

BOOST_AUTO_TEST_CASE(a_burst_arrives_whole_and_in_order_with_pings_between) {
  flood_server f;
  ws_client c(f.srv.port(), "/flood/burst");
  c.ws.write(net::buffer(std::string("burst")));
  int in_order = 0;
  for (int i = 0; i < 2000; ++i) {
    if (i % 100 == 0) c.ws.ping({});  // the server's pongs join its held frames
    if (c.next() != std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i % 300), 'b')) break;
    ++in_order;
  }
  BOOST_TEST(in_order == 2000);
  c.ws.close(bws::close_code::normal);
}

BOOST_AUTO_TEST_CASE(refusals) {
  request upgrade(verb::get, "/x", 11);
  upgrade.set(field::upgrade, "websocket");
  upgrade.set(field::connection, "upgrade");
  upgrade.set(field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(field::sec_websocket_version, "13");
  BOOST_TEST(is_websocket_upgrade(upgrade));
  BOOST_TEST(!is_websocket_upgrade(request(verb::get, "/x", 11)));
  BOOST_CHECK_THROW((void)accept_websocket(upgrade), std::logic_error);  // only inside an actor
  websocket none;
  BOOST_CHECK_THROW(none.close(1005), std::invalid_argument);  // reserved, never sent
  BOOST_CHECK_THROW(none.close(2999), std::invalid_argument);
  BOOST_CHECK_NO_THROW(none.close(4000));
  BOOST_TEST(!none.send("to nobody"));
  BOOST_CHECK_THROW(none.serialize_attachment(std::string(16 * 1024 + 1, 'x')), std::length_error);
}

BOOST_AUTO_TEST_SUITE_END()
