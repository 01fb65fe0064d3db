// The outbound client (cairn::fetch, connect_websocket) against real servers
// on 127.0.0.1: cairn's own HTTP server, and an HTTPS/WSS server with a
// certificate from a private CA made for the test (tls_server.hpp).
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include <cairn/cairn.hpp>
#include <cairn/http/fetch.hpp>
#include <cairn/http/server.hpp>
#include <cairn/http/stream.hpp>
#include <cairn/http/websocket.hpp>
#include <cairn/http/websocket_client.hpp>
#include <cairn/sleep.hpp>
#include <cairn/storage.hpp>
#include <cairn/testing/fault_vfs.hpp>

#include "support.hpp"
#include "tls_server.hpp"

using namespace std::chrono_literals;
using namespace cairn::http;

namespace {

/// A Server-Sent Events feed: /events opens it with one event, /next sends
/// the request body as the next event, /end closes it.
class feed : public cairn::actor {
 public:
  cairn::task<response> fetch(request req) {
    std::string_view target = req.target();
    if (target.ends_with("/events")) {
      auto [res, out] = make_streamed_response(status::ok, "text/event-stream");
      out.write(sse_event("one"));
      out_ = std::move(out);
      co_return std::move(res);
    }
    if (target.ends_with("/next")) co_return make_response(status::ok, out_.write(sse_event(req.body())) ? "sent" : "closed");
    out_.close();
    co_return make_response(status::ok, "ended");
  }

 private:
  body_writer out_;
};

/// Echoes WebSocket messages; "bye" makes it close with 4001.
class echo : public cairn::actor {
 public:
  cairn::task<response> fetch(request req) { co_return accept_websocket(req); }
  void websocket_message(websocket ws, ws_message m) {
    if (m.data == "bye") ws.close(4001, "asked to");
    else ws.send(std::move(m.data), m.binary);
  }
};

/// Writes to storage, then fetches: the request may leave only once the write is durable.
class caller : public cairn::actor {
 public:
  cairn::task<std::string> write_then_fetch(std::string url) {
    storage().put("n", storage().get_as<std::int64_t>("n").value_or(0) + 1);
    auto res = co_await cairn::fetch(url);
    co_return co_await res.text();
  }
};

response redirect_to(status s, std::string location) {
  response res = make_response(s, "moved");
  res.set(field::location, location);
  return res;
}

struct fixture {
  explicit fixture(server_options o = {}, cairn::runtime_options ro = cairn_test::shards(2)) : rt(std::move(ro)) {
    router r;
    r.expose("feed", rt.register_namespace<feed>("feed"));
    r.expose("wsecho", rt.register_namespace<echo>("wsecho"));
    callers = rt.register_namespace<caller>("caller");
    r.add("/hello", [this](request) -> cairn::task<response> {
      ++hits;
      co_return make_response(status::ok, "hello");
    });
    r.add("/echo", [](request req) -> cairn::task<response> {
      co_return make_response(status::ok, std::string(req.method_string()) + " [" + req.body() + "] auth=" +
                                              std::string(req[field::authorization]));
    });
    r.add("/redirect", [](request req) -> cairn::task<response> {
      const int n = std::stoi(std::string(req.target().substr(std::string_view("/redirect/").size())));
      co_return redirect_to(status::found, n > 0 ? std::to_string(n - 1) : "../hello");  // relative Locations
    });
    r.add("/loop", [](request) -> cairn::task<response> { co_return redirect_to(status::found, "/loop"); });
    r.add("/see-other", [](request) -> cairn::task<response> { co_return redirect_to(status::see_other, "/echo"); });
    r.add("/temporary", [](request) -> cairn::task<response> {
      co_return redirect_to(status::temporary_redirect, "/echo");
    });
    r.add("/elsewhere", [this](request) -> cairn::task<response> { co_return redirect_to(status::found, base + "/echo"); });
    r.add("/redirect-to-localhost", [this](request) -> cairn::task<response> {
      co_return redirect_to(status::found, "http://localhost:" + std::to_string(port) + "/hello");
    });
    r.add("/slow", [](request) -> cairn::task<response> {
      co_await cairn::sleep_for(1500ms);
      co_return make_response(status::ok, "late");
    });
    r.add("/big", [](request) -> cairn::task<response> {
      co_return make_response(status::ok, std::string(300 * 1024, 'b'));
    });
    srv.emplace(rt, std::move(r), o);
    srv->start();
    port = srv->port();
    base = "http://127.0.0.1:" + std::to_string(port);
  }
  ~fixture() {
    rt.stop();
    rt.run();
  }

  /// Runs `body` as a task on a shard and returns what it returns.
  template <class F>
  auto on_shard(F body) {
    return rt.block_on(body());
  }

  cairn::runtime rt;
  cairn::actor_namespace<caller> callers;
  std::optional<server> srv;
  std::uint16_t port = 0;
  std::string base;
  std::atomic<int> hits{0};
};

/// The fetch_errc of what `t` throws (or nullopt if it does not).
template <class T>
cairn::task<std::optional<fetch_errc>> error_of(cairn::task<T> t) {
  try {
    co_await std::move(t);
  } catch (const fetch_error& e) {
    co_return e.code();
  }
  co_return std::nullopt;
}

std::uint16_t closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed again when `a` goes
}

/// Options built by `set` (fetch_options is set by name, not brace-initialised).
template <class F>
fetch_options with(F set) {
  fetch_options o;
  set(o);
  return o;
}
fetch_options post(std::string body) {
  return with([&](fetch_options& o) {
    o.method = verb::post;
    o.body = std::move(body);
  });
}

cairn::task<std::string> get_text(std::string url, fetch_options o = {}) {
  auto res = co_await cairn::fetch(std::move(url), std::move(o));
  co_return std::to_string(res.status_int()) + " " + co_await res.text();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fetch)

BOOST_FIXTURE_TEST_CASE(gets_and_reuses_the_connection, fixture) {
  const auto r = on_shard([&]() -> cairn::task<std::vector<std::string>> {
    std::vector<std::string> out;
    for (int i = 0; i < 3; ++i) out.push_back(co_await get_text(base + "/hello"));
    co_return out;
  });
  BOOST_TEST(r == (std::vector<std::string>{"200 hello", "200 hello", "200 hello"}), boost::test_tools::per_element());
  const auto s = client_statistics(rt);
  BOOST_TEST(s.connections_opened == 1u);
  BOOST_TEST(s.connections_reused == 2u);
  BOOST_TEST(srv->connections() == 1u);
}

BOOST_FIXTURE_TEST_CASE(sends_method_headers_and_body, fixture) {
  const auto r = on_shard([&]() -> cairn::task<std::string> {
    fetch_options o;
    o.method = verb::put;
    o.body = "the body";
    o.headers.set(field::authorization, "Bearer t");
    co_return co_await get_text(base + "/echo", std::move(o));
  });
  BOOST_TEST(r == "200 PUT [the body] auth=Bearer t");
  // Header names and values that would split the request are refused before anything is sent.
  const auto refused = on_shard([&]() -> cairn::task<std::vector<std::optional<fetch_errc>>> {
    std::vector<std::optional<fetch_errc>> out;
    out.push_back(co_await error_of(get_text(base + "/hello", with([](fetch_options& o) {
      o.headers.set("X-Evil", "a\r\nX-Injected: 1");
    }))));
    out.push_back(co_await error_of(get_text(base + "/hello", with([](fetch_options& o) {
      o.headers.set("Bad Name", "x");
    }))));
    co_return out;
  });
  BOOST_TEST((refused[0] == fetch_errc::invalid_request));
  BOOST_TEST((refused[1] == fetch_errc::invalid_request));
  BOOST_TEST(hits.load() == 0);
}

BOOST_FIXTURE_TEST_CASE(streams_the_body_as_it_arrives, fixture) {
  // The second event is sent only after the first was received: the client
  // must hand over each piece as it comes, not wait for the end.
  const auto r = on_shard([&]() -> cairn::task<std::vector<std::string>> {
    std::vector<std::string> got;
    auto events = co_await cairn::fetch(base + "/feed/f/events");
    got.push_back(std::string(events.headers()[field::content_type]));
    got.push_back(*co_await events.next_chunk());
    got.push_back(co_await get_text(base + "/feed/f/next", post("two")));
    got.push_back(*co_await events.next_chunk());
    got.push_back(co_await get_text(base + "/feed/f/end", post("")));
    got.push_back(co_await events.next_chunk() ? "more" : "end");
    co_return got;
  });
  BOOST_TEST(r == (std::vector<std::string>{"text/event-stream", "data: one\n\n", "200 sent", "data: two\n\n",
                                            "200 ended", "end"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(follows_redirects_through_the_policy, fixture) {
  std::vector<std::string> hops;
  const auto r = on_shard([&]() -> cairn::task<std::vector<std::string>> {
    std::vector<std::string> out;
    fetch_options o;
    o.allow_redirect = [&](const redirect_hop& h) {
      hops.push_back(std::to_string(h.number) + " " + h.to);
      return true;
    };
    auto res = co_await cairn::fetch(base + "/redirect/2", std::move(o));
    out.push_back(res.url() + " " + std::to_string(res.redirects()) + " " + co_await res.text());
    // 303 turns POST into GET without the body; 307 keeps both.
    out.push_back(co_await get_text(base + "/see-other", post("b")));
    out.push_back(co_await get_text(base + "/temporary", post("b")));
    // Credentials do not follow a redirect to another origin (localhost -> 127.0.0.1).
    fetch_options cred;
    cred.headers.set(field::authorization, "Bearer secret");
    out.push_back(co_await get_text("http://localhost:" + std::to_string(port) + "/elsewhere", std::move(cred)));
    auto manual = co_await cairn::fetch(base + "/loop", with([](fetch_options& o) { o.redirect = redirect_mode::manual; }));
    out.push_back(std::to_string(manual.status_int()) + " " + std::string(manual.headers()[field::location]));
    co_return out;
  });
  BOOST_TEST(r[0] == base + "/hello 3 hello");
  BOOST_TEST(hops == (std::vector<std::string>{"1 " + base + "/redirect/1", "2 " + base + "/redirect/0",
                                               "3 " + base + "/hello"}),
             boost::test_tools::per_element());
  BOOST_TEST(r[1] == "200 GET [] auth=");
  BOOST_TEST(r[2] == "200 POST [b] auth=");
  BOOST_TEST(r[3] == "200 GET [] auth=");
  BOOST_TEST(r[4] == "302 /loop");
}

BOOST_FIXTURE_TEST_CASE(refuses_redirects_it_must_not_follow, fixture) {
  const auto r = on_shard([&]() -> cairn::task<std::vector<std::optional<fetch_errc>>> {
    std::vector<std::optional<fetch_errc>> out;
    out.push_back(co_await error_of(get_text(base + "/loop")));
    out.push_back(co_await error_of(get_text(base + "/redirect/5", with([](fetch_options& o) { o.max_redirects = 3; }))));
    out.push_back(co_await error_of(get_text(base + "/redirect/1", with([](fetch_options& o) { o.redirect = redirect_mode::error; }))));
    fetch_options o;
    o.allow_redirect = [](const redirect_hop& h) { return !h.to.ends_with("/hello"); };
    out.push_back(co_await error_of(get_text(base + "/redirect/1", std::move(o))));
    co_return out;
  });
  BOOST_TEST((r[0] == fetch_errc::too_many_redirects));
  BOOST_TEST((r[1] == fetch_errc::too_many_redirects));
  BOOST_TEST((r[2] == fetch_errc::redirect_refused));
  BOOST_TEST((r[3] == fetch_errc::redirect_refused));
  BOOST_TEST(hits.load() == 0);  // no refused hop was requested
}

BOOST_FIXTURE_TEST_CASE(checks_addresses_after_resolving, fixture) {
  const auto r = on_shard([&]() -> cairn::task<std::vector<std::optional<fetch_errc>>> {
    auto no_loopback = [](std::string_view, const boost::asio::ip::address& a) { return !a.is_loopback(); };
    std::vector<std::optional<fetch_errc>> out;
    const std::string p = std::to_string(port);
    for (std::string host : {"127.0.0.1", "localhost", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]"}) {
      fetch_options o;
      o.allow_address = [&](std::string_view h, const boost::asio::ip::address& a) {
        // an IPv4-mapped IPv6 address is the IPv4 one
        if (a.is_v6() && a.to_v6().is_v4_mapped()) return no_loopback(h, boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()));
        return no_loopback(h, a);
      };
      out.push_back(co_await error_of(get_text("http://" + host + ":" + p + "/hello", std::move(o))));
    }
    // A redirect to a refused address is refused at that hop.
    fetch_options hop;
    hop.allow_address = [](std::string_view h, const boost::asio::ip::address&) { return h != "localhost"; };
    out.push_back(co_await error_of(get_text(base + "/redirect-to-localhost", std::move(hop))));
    co_return out;
  });
  for (std::size_t i = 0; i + 1 < r.size(); ++i) BOOST_TEST((r[i] == fetch_errc::address_refused), "form " << i);
  BOOST_TEST(hits.load() == 0);
}

BOOST_FIXTURE_TEST_CASE(a_pooled_connection_is_no_way_around_the_address_check, fixture) {
  const auto r = on_shard([&]() -> cairn::task<std::vector<std::optional<fetch_errc>>> {
    std::vector<std::optional<fetch_errc>> out;
    out.push_back(co_await error_of(get_text(base + "/hello")));  // leaves a kept connection to 127.0.0.1
    fetch_options o;
    o.allow_address = [](std::string_view, const boost::asio::ip::address& a) { return !a.is_loopback(); };
    out.push_back(co_await error_of(get_text(base + "/hello", std::move(o))));
    out.push_back(co_await error_of(get_text(base + "/hello")));  // a caller without the check still fetches
    co_return out;
  });
  BOOST_TEST(!r[0].has_value());
  BOOST_TEST((r[1] == fetch_errc::address_refused));
  BOOST_TEST(!r[2].has_value());
  BOOST_TEST(hits.load() == 2);
}

BOOST_FIXTURE_TEST_CASE(times_out_and_fails_clearly, fixture) {
  const auto r = on_shard([&]() -> cairn::task<std::vector<std::optional<fetch_errc>>> {
    std::vector<std::optional<fetch_errc>> out;
    out.push_back(co_await error_of(get_text(base + "/slow", with([](fetch_options& o) { o.response_timeout = 200ms; }))));
    // A body that stops coming: read_timeout between pieces.
    out.push_back(co_await error_of([&]() -> cairn::task<void> {
      auto events = co_await cairn::fetch(base + "/feed/quiet/events", with([](fetch_options& o) { o.read_timeout = 200ms; }));
      (void)co_await events.next_chunk();  // "one" is there
      (void)co_await events.next_chunk();  // nothing more comes
    }()));
    out.push_back(co_await error_of(get_text("http://127.0.0.1:" + std::to_string(closed_port()) + "/")));
    out.push_back(co_await error_of(get_text("not a url")));
    out.push_back(co_await error_of(get_text("ftp://127.0.0.1/file")));
    out.push_back(co_await error_of(get_text("http:///no-host")));
    out.push_back(co_await error_of(get_text("http://no-such-host.invalid/")));
    out.push_back(co_await error_of([&]() -> cairn::task<void> {
      auto res = co_await cairn::fetch(base + "/big");
      (void)co_await res.text(100 * 1024);
    }()));
    out.push_back(co_await error_of(get_text(base + "/hello", with([](fetch_options& o) { o.max_header_bytes = 20; }))));
    out.push_back(co_await error_of(get_text(base + "/hello")));  // and the client still works
    co_return out;
  });
  BOOST_TEST((r[0] == fetch_errc::timed_out));
  BOOST_TEST((r[1] == fetch_errc::timed_out));
  BOOST_TEST((r[2] == fetch_errc::connect_failed));
  BOOST_TEST((r[3] == fetch_errc::invalid_url));
  BOOST_TEST((r[4] == fetch_errc::unsupported_scheme));
  BOOST_TEST((r[5] == fetch_errc::invalid_url));
  BOOST_TEST((r[6] == fetch_errc::resolve_failed));
  BOOST_TEST((r[7] == fetch_errc::body_too_large));
  BOOST_TEST((r[8] == fetch_errc::body_too_large));
  BOOST_TEST(!r[9].has_value());
}

BOOST_AUTO_TEST_CASE(replaces_a_kept_connection_the_server_closed) {
  server_options o;
  o.idle_timeout = 200ms;
  fixture f(o);
  BOOST_TEST(f.on_shard([&]() -> cairn::task<std::string> { co_return co_await get_text(f.base + "/hello"); }) ==
             "200 hello");
  // Wait (bounded) until the server has closed the idle connection.
  for (int i = 0; i < 500 && f.srv->connections() != 0; ++i) std::this_thread::sleep_for(10ms);
  BOOST_REQUIRE(f.srv->connections() == 0u);
  BOOST_TEST(f.on_shard([&]() -> cairn::task<std::string> { co_return co_await get_text(f.base + "/hello"); }) ==
             "200 hello");
  const auto s = client_statistics(f.rt);
  BOOST_TEST(s.connections_opened == 2u);
}

BOOST_AUTO_TEST_CASE(a_request_after_a_failed_commit_never_leaves) {
  cairn_test::temp_dir dir;
  fixture f({}, cairn_test::with_disk_faults(dir, 2));
  auto c = f.callers.get("c");
  auto write_then_fetch = [&]() -> cairn::task<std::string> {
    co_return co_await c.call(&caller::write_then_fetch, f.base + "/hello");
  };
  BOOST_TEST(f.rt.block_on(write_then_fetch()) == "hello");
  BOOST_TEST(f.hits.load() == 1);
  cairn::testing::fail_writes(true);
  bool void_output = false;
  try {
    (void)f.rt.block_on(write_then_fetch());
  } catch (const fetch_error& e) {
    void_output = e.code() == fetch_errc::output_void;
  } catch (const std::exception&) {
    void_output = true;  // the reset error of the failed commit reaches the caller first
  }
  cairn::testing::fail_writes(false);
  BOOST_TEST(void_output);
  BOOST_TEST(f.hits.load() == 1);  // the request never reached the server
}

BOOST_AUTO_TEST_CASE(https_checks_the_certificate) {
  cairn_test::temp_dir dir;
  cairn_test::make_test_pki(dir.path(), "DNS:localhost");
  cairn_test::tls_server tls(dir.path() / "server.pem");
  const std::string name_url = "https://localhost:" + std::to_string(tls.port()) + "/x?y=1";
  const std::string ip_url = "https://127.0.0.1:" + std::to_string(tls.port()) + "/x";

  {  // Only the system's store: the private CA is not trusted.
    fixture f;
    const auto r = f.on_shard([&]() -> cairn::task<std::optional<fetch_errc>> { co_return co_await error_of(get_text(name_url)); });
    BOOST_TEST((r == fetch_errc::tls_failed));
  }
  fixture f;
  BOOST_CHECK_THROW(configure_client(f.rt, {.extra_ca_file = (dir.path() / "missing.pem").string()}),
                    std::invalid_argument);
  configure_client(f.rt, {.extra_ca_file = (dir.path() / "ca.pem").string()});
  const auto r = f.on_shard([&]() -> cairn::task<std::vector<std::string>> {
    std::vector<std::string> out;
    out.push_back(co_await get_text(name_url));
    out.push_back(co_await get_text(name_url));
    // The certificate names localhost, not 127.0.0.1.
    out.push_back((co_await error_of(get_text(ip_url))) == fetch_errc::tls_failed ? "refused" : "accepted");
    auto ws = co_await connect_websocket("wss://localhost:" + std::to_string(tls.port()) + "/ws");
    co_await ws.send("over tls");
    out.push_back((co_await ws.receive())->data);
    co_await ws.close();
    co_return out;
  });
  BOOST_TEST(r == (std::vector<std::string>{"200 secure /x?y=1", "200 secure /x?y=1", "refused", "over tls"}),
             boost::test_tools::per_element());
  BOOST_TEST(client_statistics(f.rt).connections_reused >= 1u);
  BOOST_CHECK_THROW(configure_client(f.rt, {}), std::logic_error);  // used already
}

BOOST_FIXTURE_TEST_CASE(websocket_client_round_trips, fixture) {
  const auto r = on_shard([&]() -> cairn::task<std::vector<std::string>> {
    std::vector<std::string> out;
    auto ws = co_await connect_websocket("ws://127.0.0.1:" + std::to_string(port) + "/wsecho/e");
    co_await ws.send("text");
    auto m = co_await ws.receive();
    out.push_back(m->data + (m->binary ? " binary" : " text"));
    co_await ws.send(std::string("\0\1\2", 3), true);
    m = co_await ws.receive();
    out.push_back(std::to_string(m->data.size()) + (m->binary ? " binary" : " text"));
    co_await ws.send("bye");  // the server closes
    out.push_back(co_await ws.receive() ? "message" : "closed");
    out.push_back(std::to_string(ws.close_code()) + " " + ws.close_reason());
    out.push_back((co_await error_of(ws.send("late"))) == fetch_errc::connection_closed ? "send refused" : "sent");

    auto ws2 = co_await connect_websocket("ws://127.0.0.1:" + std::to_string(port) + "/wsecho/e");
    co_await ws2.close(4002, "done");
    out.push_back(std::to_string(ws2.close_code()) + (ws2.is_open() ? " open" : " shut"));

    out.push_back((co_await error_of(connect_websocket(base + "/hello"))) == fetch_errc::unsupported_scheme ? "scheme"
                                                                                                           : "?");
    auto declined = co_await error_of(connect_websocket("ws://127.0.0.1:" + std::to_string(port) + "/hello"));
    out.push_back(declined == fetch_errc::protocol_error ? "declined" : "?");
    co_return out;
  });
  BOOST_TEST(r == (std::vector<std::string>{"text text", "3 binary", "closed", "4001 asked to", "send refused",
                                            "4002 shut", "scheme", "declined"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
