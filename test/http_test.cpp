// The HTTP server against real clients on 127.0.0.1: curl, and a raw socket
// for malformed and slow requests.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <string>
#include <thread>

#include <cairn/cairn.hpp>
#include <cairn/http/server.hpp>
#include <cairn/http/static_files.hpp>
#include <cairn/http/stream.hpp>
#include <cairn/storage.hpp>
#include <cairn/testing/fault_vfs.hpp>

#include "http_client.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using cairn::http::make_response;
using cairn::http::request;
using cairn::http::response;
using cairn::http::status;

namespace {

/// Counts per name; echoes what it was sent.
class web_counter : public cairn::actor {
 public:
  cairn::task<response> fetch(request req) {
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));
    if (target.ends_with("/inc")) co_return make_response(status::ok, std::to_string(++n_));
    if (target.ends_with("/echo"))
      co_return make_response(status::ok, std::string(req.method_string()) + " " + std::to_string(req.body().size()) +
                                              " " + req.body());
    if (target.ends_with("/throw")) throw std::runtime_error("the handler failed");
    co_return make_response(status::not_found, "no such thing");
  }

 private:
  int n_ = 0;
};

/// A Server-Sent Events feed per name: /events opens it, /next sends the
/// request body as an event, /end closes it.
class feed : public cairn::actor {
 public:
  cairn::task<response> fetch(request req) {
    std::string_view target = req.target();
    if (target.ends_with("/events")) {
      auto [res, out] = cairn::http::make_streamed_response(status::ok, "text/event-stream");
      out.write(cairn::http::sse_event("one", "greeting", "1"));
      out_ = std::move(out);
      co_return std::move(res);
    }
    if (target.ends_with("/next"))
      co_return make_response(status::ok, out_.write(cairn::http::sse_event(req.body())) ? "sent" : "closed");
    if (target.ends_with("/end")) {
      out_.close();
      co_return make_response(status::ok, "ended");
    }
    co_return make_response(status::not_found, "no such thing");
  }

 private:
  cairn::http::body_writer out_;
};

struct fixture {
  explicit fixture(cairn::http::server_options o = {}) : rt(cairn_test::shards(2)) {
    counters = rt.register_namespace<web_counter>("counter");
    cairn::http::router r;
    r.expose("counter", counters);
    r.expose("feed", rt.register_namespace<feed>("feed"));
    r.add("/health", [](request) -> cairn::task<response> { co_return make_response(status::ok, "ok"); });
    r.before([](request& req) -> cairn::task<std::optional<response>> {
      if (req.target().starts_with("/private") && req[cairn::http::field::authorization] != "Bearer yes")
        co_return make_response(status::unauthorized, "who are you");
      co_return std::nullopt;
    });
    r.add("/private", [](request) -> cairn::task<response> { co_return make_response(status::ok, "secret"); });
    r.on_error = [this](std::exception_ptr, std::string_view) { ++handler_errors; };
    server.emplace(rt, std::move(r), o);
    server->start();
    base = "http://127.0.0.1:" + std::to_string(server->port());
  }
  ~fixture() {
    rt.stop();
    rt.run();
  }

  cairn::runtime rt;
  cairn::actor_namespace<web_counter> counters;
  std::optional<cairn::http::server> server;
  std::string base;
  std::atomic<int> handler_errors{0};
};

cairn::http::server_options tight_limits() {
  cairn::http::server_options o;
  o.max_header_bytes = 4096;
  o.max_body_bytes = 1000;
  o.read_timeout = 300ms;
  o.max_connections = 3;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http)

BOOST_FIXTURE_TEST_CASE(routes_requests_to_actors_by_name_and_by_id, fixture) {
  BOOST_TEST(cairn_test::curl({base + "/counter/alice/inc"}).out == "1");
  BOOST_TEST(cairn_test::curl({base + "/counter/alice/inc"}).out == "2");
  BOOST_TEST(cairn_test::curl({base + "/counter/bob/inc"}).out == "1");
  // Percent-decoded names: "a b" is one actor however it is spelled.
  BOOST_TEST(cairn_test::curl({base + "/counter/a%20b/inc"}).out == "1");
  BOOST_TEST(cairn_test::curl({base + "/counter/a%20b/inc?x=1"}).out == "2");
  const std::string hex = counters.id_from_name("alice").to_string();
  BOOST_TEST(cairn_test::curl({base + "/counter/~" + hex + "/inc"}).out == "3");
  auto bad = cairn_test::curl({"-w", "\n%{http_code}", base + "/counter/~" + std::string(64, 'a') + "/inc"});
  BOOST_TEST(bad.out.ends_with("\n400"));
  BOOST_TEST(cairn_test::curl({"-w", "%{http_code}", "-o", "/dev/null", base + "/nowhere/x"}).out == "404");
  BOOST_TEST(cairn_test::curl({"-w", "%{http_code}", "-o", "/dev/null", base + "/counter"}).out == "404");
}

BOOST_FIXTURE_TEST_CASE(keeps_connections_alive, fixture) {
  // Three requests in one curl run: one connection is made, then reused.
  auto r = cairn_test::curl({"-w", " %{num_connects}\n", base + "/counter/k/inc", base + "/counter/k/inc",
                             base + "/health"});
  BOOST_TEST(r.out == "1 1\n2 0\nok 0");
}

BOOST_FIXTURE_TEST_CASE(routes_hooks_and_handler_errors, fixture) {
  BOOST_TEST(cairn_test::curl({base + "/health"}).out == "ok");
  BOOST_TEST(cairn_test::curl({"-w", " %{http_code}", base + "/private/x"}).out == "who are you 401");
  BOOST_TEST(cairn_test::curl({"-H", "Authorization: Bearer yes", base + "/private/x"}).out == "secret");
  BOOST_TEST(cairn_test::curl({"-w", "%{http_code}", "-o", "/dev/null", base + "/counter/t/throw"}).out == "500");
  BOOST_TEST(handler_errors == 1);
  BOOST_TEST(cairn_test::curl({base + "/counter/t/inc"}).out == "1");  // the actor still serves
}

BOOST_FIXTURE_TEST_CASE(reads_chunked_and_plain_bodies, fixture) {
  BOOST_TEST(cairn_test::curl({"--data-binary", "hello", base + "/counter/e/echo"}).out == "POST 5 hello");
  BOOST_TEST(cairn_test::curl({"-H", "Transfer-Encoding: chunked", "--data-binary", "chunky body", base + "/counter/e/echo"})
                 .out == "POST 11 chunky body");
  // HEAD: the length of the body GET would send, no body.
  auto head = cairn_test::curl({"-I", base + "/health"});
  BOOST_TEST(head.out.find("Content-Length: 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(limits_get_their_status_codes) {
  fixture f(tight_limits());
  auto code = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "/dev/null", "-w", "%{http_code}"});
    return cairn_test::curl(args).out;
  };
  BOOST_TEST(code({"-H", "X-Big: " + std::string(5000, 'x'), f.base + "/health"}) == "431");
  BOOST_TEST(code({"--data-binary", std::string(1001, 'b'), f.base + "/counter/e/echo"}) == "413");
  BOOST_TEST(code({"--data-binary", std::string(1000, 'b'), f.base + "/counter/e/echo"}) == "200");
  {  // A malformed request line: 400, then the connection closes.
    cairn_test::raw_client c(f.server->port());
    c.send("GARBAGE\r\n\r\n");
    BOOST_TEST(c.read_all().starts_with("HTTP/1.1 400"));
  }
  {  // A bad header line.
    cairn_test::raw_client c(f.server->port());
    c.send("GET / HTTP/1.1\r\nNo colon here\r\n\r\n");
    BOOST_TEST(c.read_all().starts_with("HTTP/1.1 400"));
  }
  {  // Slowloris: half a header, then nothing. Closed after read_timeout.
    cairn_test::raw_client c(f.server->port());
    c.send("GET /health HTTP/1.1\r\nHost: x\r\n");
    BOOST_TEST(c.closed_by_server());
  }
  BOOST_TEST(code({f.base + "/health"}) == "200");  // the others are still served
}

BOOST_AUTO_TEST_CASE(connections_over_the_cap_get_503) {
  fixture f(tight_limits());  // 3 connections at most
  cairn_test::raw_client a(f.server->port()), b(f.server->port()), c(f.server->port());
  for (auto* x : {&a, &b, &c}) x->send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  // Each got its answer and is kept open; wait until the server counts them.
  for (int i = 0; i < 1000 && f.server->connections() < 3; ++i) std::this_thread::sleep_for(1ms);
  BOOST_REQUIRE(f.server->connections() == 3);
  cairn_test::raw_client d(f.server->port());
  BOOST_TEST(d.read_all().starts_with("HTTP/1.1 503"));
}

BOOST_AUTO_TEST_CASE(stop_closes_idle_connections_and_finishes) {
  auto f = std::make_unique<fixture>();
  cairn_test::raw_client idle(f->server->port());
  idle.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(idle.read_some().starts_with("HTTP/1.1 200"));  // answered; now it waits, kept alive
  const auto t0 = std::chrono::steady_clock::now();
  f.reset();  // rt.stop() + run(): the kept-alive connection must not hold the drain (10 s)
  const bool prompt = std::chrono::steady_clock::now() - t0 < 5s;
  BOOST_TEST(prompt);
  BOOST_TEST(idle.closed_by_server());
}

BOOST_FIXTURE_TEST_CASE(streams_server_sent_events_as_they_are_written, fixture) {
  // curl prints each event as it arrives (-N: no buffering). The next event
  // is only written after the test has read the previous one, so each line
  // below proves a chunk crossed before the body ended.
  cairn_test::child_process sse({"/usr/bin/curl", "--silent", "-N", "--max-time", "20", base + "/feed/f/events"});
  auto line = [&] { return sse.read_line(std::chrono::seconds(10)).value_or("<end>"); };
  BOOST_TEST(line() == "event: greeting");
  BOOST_TEST(line() == "id: 1");
  BOOST_TEST(line() == "data: one");
  BOOST_TEST(line() == "");
  BOOST_TEST(cairn_test::curl({"--data-binary", "two\nlines", base + "/feed/f/next"}).out == "sent");
  BOOST_TEST(line() == "data: two");
  BOOST_TEST(line() == "data: lines");
  BOOST_TEST(line() == "");
  BOOST_TEST(cairn_test::curl({base + "/feed/f/end"}).out == "ended");
  BOOST_TEST(!sse.read_line(std::chrono::seconds(10)).has_value());  // the body ended: curl exits
  const int status = sse.wait();
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  BOOST_TEST(cairn_test::curl({"--data-binary", "late", base + "/feed/f/next"}).out == "closed");
}

/// Writes to storage, then an event: the event may leave only once the write
/// is durable.
class gated_feed : public cairn::actor {
 public:
  cairn::task<response> fetch(request req) {
    if (req.target().ends_with("/events")) {
      auto [res, out] = cairn::http::make_streamed_response(status::ok, "text/event-stream");
      out.write(cairn::http::sse_event("open"));  // the test waits for it: the stream exists
      out_ = std::move(out);
      co_return std::move(res);
    }
    const auto n = storage().get_as<std::int64_t>("n").value_or(0) + 1;
    storage().put("n", n);
    out_.write(cairn::http::sse_event("write " + std::to_string(n)));
    co_return make_response(status::ok, std::to_string(n));
  }

 private:
  cairn::http::body_writer out_;
};

BOOST_AUTO_TEST_CASE(events_after_a_failed_commit_never_leave) {
  cairn_test::temp_dir dir;
  cairn::runtime rt(cairn_test::with_disk_faults(dir, 2));
  cairn::http::router r;
  r.expose("gated", rt.register_namespace<gated_feed>("gated"));
  r.on_error = [](std::exception_ptr, std::string_view) {};
  cairn::http::server srv(rt, std::move(r));
  srv.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(srv.port()) + "/gated/g";
  cairn_test::child_process sse({"/usr/bin/curl", "--silent", "-N", "--max-time", "20", base + "/events"});
  BOOST_TEST(sse.read_line(std::chrono::seconds(10)).value_or("<end>") == "data: open");
  BOOST_TEST(sse.read_line(std::chrono::seconds(10)).value_or("<end>") == "");
  BOOST_TEST(cairn_test::curl({"-X", "POST", base + "/write"}).out == "1");
  BOOST_TEST(sse.read_line(std::chrono::seconds(10)).value_or("<end>") == "data: write 1");
  BOOST_TEST(sse.read_line(std::chrono::seconds(10)).value_or("<end>") == "");
  cairn::testing::fail_writes(true);
  const auto failed = cairn_test::curl({"-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base + "/write"});
  cairn::testing::fail_writes(false);
  BOOST_TEST(failed.out == "500");  // the caller learns the write failed
  // The event written after it never arrives: the body is cut off instead.
  BOOST_TEST(!sse.read_line(std::chrono::seconds(10)).has_value());
  const int status = sse.wait();
  BOOST_TEST(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));  // curl saw an incomplete body
  BOOST_TEST(cairn_test::curl({"-X", "POST", base + "/write"}).out == "2");  // nothing lost, still serving
  rt.stop();
  rt.run();
}

BOOST_AUTO_TEST_CASE(serves_static_files_inside_their_folder_only) {
  cairn_test::temp_dir dir;
  const auto www = dir.path() / "www";
  std::filesystem::create_directories(www / "sub");
  std::ofstream(www / "index.html") << "<h1>home</h1>";
  std::ofstream(www / "sub" / "app.js") << "let x = 1;";
  std::ofstream(dir.path() / "secret.txt") << "secret";
  std::filesystem::create_symlink(dir.path() / "secret.txt", www / "link.txt");
  cairn::runtime rt(cairn_test::shards(2));
  cairn::http::router r;
  r.add("/app", cairn::http::static_files("/app", www));
  cairn::http::server srv(rt, std::move(r));
  srv.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(srv.port());
  auto get = [&](const std::string& path) {
    return cairn_test::curl({"--path-as-is", "-w", " %{http_code} %{content_type}", base + path}).out;
  };
  BOOST_TEST(get("/app/") == "<h1>home</h1> 200 text/html; charset=utf-8");
  BOOST_TEST(get("/app") == "<h1>home</h1> 200 text/html; charset=utf-8");
  BOOST_TEST(get("/app/sub/app.js") == "let x = 1; 200 text/javascript; charset=utf-8");
  BOOST_TEST(get("/app/sub%2Fapp.js").ends_with(" 200 text/javascript; charset=utf-8"));  // decoded, still inside
  BOOST_TEST(get("/app/../secret.txt").find(" 404 ") != std::string::npos);
  BOOST_TEST(get("/app/sub/%2E%2E/%2E%2E/secret.txt").find(" 404 ") != std::string::npos);
  BOOST_TEST(get("/app/link.txt").find(" 404 ") != std::string::npos);  // a link out of the folder
  BOOST_TEST(get("/app/missing.css").find(" 404 ") != std::string::npos);
  BOOST_TEST(cairn_test::curl({"-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base + "/app/"}).out == "405");
  rt.stop();
  rt.run();
}

BOOST_FIXTURE_TEST_CASE(abrupt_disconnects_leave_the_server_serving, fixture) {
  {  // Half a body, then gone.
    cairn_test::raw_client c(server->port());
    c.send("POST /counter/d/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part");
  }
  {  // Half a header, then gone.
    cairn_test::raw_client c(server->port());
    c.send("GET /counter/d/inc HTTP/1.1\r\nHo");
  }
  {  // An event stream whose client leaves: the writer learns it.
    cairn_test::child_process sse({"/usr/bin/curl", "--silent", "-N", "--max-time", "20", base + "/feed/gone/events"});
    BOOST_TEST(sse.read_line(std::chrono::seconds(10)).value_or("<end>") == "event: greeting");
    sse.kill();
  }
  // The first write after the client left may still be queued; within a few
  // writes the writer sees the connection gone.
  std::string answer;
  for (int i = 0; i < 50 && answer != "closed"; ++i)
    answer = cairn_test::curl({"--data-binary", std::string(4096, 'x'), base + "/feed/gone/next"}).out;
  BOOST_TEST(answer == "closed");
  for (int i = 0; i < 1000 && server->connections() > 0; ++i) std::this_thread::sleep_for(1ms);
  BOOST_TEST(server->connections() == 0);  // nothing left behind
  BOOST_TEST(cairn_test::curl({base + "/counter/d/inc"}).out == "1");
}

BOOST_AUTO_TEST_CASE(a_stream_whose_client_does_not_read_is_cut) {
  cairn::http::server_options o;
  o.max_send_queue_bytes = 1024 * 1024;
  fixture f(o);
  cairn_test::raw_client lazy(f.server->port());
  lazy.send("GET /feed/lazy/events HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(lazy.read_some().starts_with("HTTP/1.1 200"));  // then it reads no more
  // 100 KiB events (an argument of curl holds at most 128 KiB): once the kernel's buffers are full, more than 1 MiB
  // waits for this client, the stream ends and the writer is refused.
  std::string answer;
  for (int i = 0; i < 800 && answer != "closed"; ++i)
    answer = cairn_test::curl({"--data-binary", std::string(100 * 1024, 'x'), f.base + "/feed/lazy/next"}).out;
  BOOST_TEST(answer == "closed");
  BOOST_TEST(cairn_test::curl({f.base + "/counter/after/inc"}).out == "1");
}

BOOST_AUTO_TEST_CASE(sse_event_format) {
  using cairn::http::sse_event;
  BOOST_TEST(sse_event("a") == "data: a\n\n");
  BOOST_TEST(sse_event("a\r\nb\nc", "e", "7") == "event: e\nid: 7\ndata: a\ndata: b\ndata: c\n\n");
  BOOST_TEST(sse_event("x", "bad\nevent") == "event: bad event\ndata: x\n\n");
}

BOOST_AUTO_TEST_CASE(parses_actor_targets) {
  using cairn::http::parse_actor_target;
  auto t = parse_actor_target("/ns/na%2Fme/rest?q=1");
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(t->namespace_name == "ns");
  BOOST_TEST(t->key == "na/me");
  BOOST_TEST(!t->is_id);
  auto id = parse_actor_target("/ns/~abc");
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(id->is_id);
  BOOST_TEST(id->key == "abc");
  BOOST_TEST(!parse_actor_target("/ns").has_value());
  BOOST_TEST(!parse_actor_target("/ns/").has_value());
  BOOST_TEST(!parse_actor_target("//x").has_value());
  BOOST_TEST(!parse_actor_target("/ns/%zz").has_value());
  BOOST_TEST(!parse_actor_target("/ns/%00").has_value());
  BOOST_TEST(!parse_actor_target("/ns/%4").has_value());
  BOOST_TEST(!parse_actor_target("ns/x").has_value());
}

BOOST_AUTO_TEST_CASE(reads_query_parameters) {
  using cairn::http::query_param;
  BOOST_TEST(query_param("/p?n=41&x=a+b%2Bc", "n").value_or("?") == "41");
  BOOST_TEST(query_param("/p?n=41&x=a+b%2Bc", "x").value_or("?") == "a b+c");
  BOOST_TEST(query_param("/p?flag&n=1", "flag").value_or("?") == "");
  BOOST_TEST(query_param("/p?n=1&n=2", "n").value_or("?") == "1");  // the first one
  BOOST_TEST(query_param("/p?my%20key=v", "my key").value_or("?") == "v");
  BOOST_TEST(query_param("/p?n=1#n=2", "m").has_value() == false);
  BOOST_TEST(!query_param("/p?nn=1", "n").has_value());
  BOOST_TEST(!query_param("/p", "n").has_value());
  BOOST_TEST(!query_param("/p?n=%zz", "n").has_value());  // malformed
  BOOST_TEST(!query_param("/p?n=%00", "n").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
