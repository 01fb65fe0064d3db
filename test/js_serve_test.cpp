// `cairn serve` with JavaScript Workers and Durable Objects from a config
// file: the documented counter unchanged, and a JS chat room (WebSockets,
// hibernation) that asks a native C++ rate limiter before every message.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "http_client.hpp"
#include "server_process.hpp"
#include "support.hpp"
#include "ws_client.hpp"

namespace {

namespace json = boost::json;

/// examples/js/cairn.json with the module paths made absolute.
std::string config_in(const cairn_test::temp_dir& dir) {
  std::ifstream in(std::string(CAIRN_SOURCE_DIR) + "/examples/js/cairn.json");
  std::stringstream text;
  text << in.rdbuf();
  json::value c = json::parse(text.str());
  for (auto& w : c.at("workers").as_array()) {
    auto& main = w.as_object()["main"];
    main = std::string(CAIRN_SOURCE_DIR) + "/" + std::string(main.as_string());
  }
  const auto path = dir.path() / "cairn.json";
  std::ofstream(path) << json::serialize(c);
  return path.string();
}

std::uint16_t port_of(const std::string& base) { return static_cast<std::uint16_t>(std::stoi(base.substr(base.rfind(':') + 1))); }

}  // namespace

BOOST_AUTO_TEST_SUITE(js_serve)

BOOST_AUTO_TEST_CASE(the_documented_counter_runs_unchanged_behind_a_route) {
  cairn_test::temp_dir data, conf;
  cairn_test::server_process s(data.path(), {"--config", config_in(conf)});
  const std::string at = s.base + "/js/counter";
  BOOST_TEST(cairn_test::curl({at + "/increment?name=A"}).out == "Durable Object 'A' count: 1");
  BOOST_TEST(cairn_test::curl({at + "/increment?name=A"}).out == "Durable Object 'A' count: 2");
  BOOST_TEST(cairn_test::curl({at + "/decrement?name=B"}).out == "Durable Object 'B' count: -1");
  BOOST_TEST(cairn_test::curl({at + "/?name=A"}).out == "Durable Object 'A' count: 2");
  BOOST_TEST(cairn_test::curl({at + "/"}).out.starts_with("Select a Durable Object to contact"));
  BOOST_TEST(cairn_test::curl({"-o", "/dev/null", "-w", "%{http_code}", at + "/other?name=A"}).out == "404");
  BOOST_TEST(s.stop() == 0);
  // Durable: a new server on the same data continues the count.
  cairn_test::server_process again(data.path(), {"--config", config_in(conf)});
  BOOST_TEST(cairn_test::curl({again.base + "/js/counter/increment?name=A"}).out == "Durable Object 'A' count: 3");
}

BOOST_AUTO_TEST_CASE(a_js_room_broadcasts_and_asks_a_native_rate_limiter) {
  cairn_test::temp_dir data, conf;
  cairn_test::server_process s(data.path(), {"--config", config_in(conf)});
  const auto port = port_of(s.base);
  cairn_test::ws_client ann(port, "/js/chat/lobby?user=ann");
  BOOST_TEST(ann.next() == R"({"type":"join","user":"ann","users":["ann"]})");
  cairn_test::ws_client bob(port, "/js/chat/lobby?user=bob");
  BOOST_TEST(ann.next() == R"({"type":"join","user":"bob","users":["ann","bob"]})");
  BOOST_TEST(bob.next() == R"({"type":"join","user":"bob","users":["ann","bob"]})");
  BOOST_TEST(ann.ask("hello") == R"({"type":"message","user":"ann","text":"hello","n":1})");
  BOOST_TEST(bob.next() == R"({"type":"message","user":"ann","text":"hello","n":1})");
  // Ann has 4 tokens left: a burst of 8 gets 4 through, then slow-downs.
  for (int i = 0; i < 8; ++i) ann.ws.write(cairn_test::net::buffer(std::string("m") + std::to_string(i)));
  int delivered = 0, refused = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string m = ann.next();
    if (m.find(R"("type":"message")") != std::string::npos) ++delivered;
    if (m.find(R"("type":"slow-down")") != std::string::npos) ++refused;
  }
  BOOST_TEST(delivered >= 4);
  BOOST_TEST(refused >= 1);
  BOOST_TEST(delivered + refused == 8);
  bob.ws.close(cairn_test::bws::close_code::normal);
  // What bob saw of the burst comes first, then ann hears that he left.
  std::string last;
  for (int i = 0; i < 20 && last.find("leave") == std::string::npos; ++i) last = ann.next();
  BOOST_TEST(last == R"({"type":"leave","user":"bob","users":["ann"]})");
  ann.ws.close(cairn_test::bws::close_code::normal);
  // The native limiter is reachable over HTTP too.
  BOOST_TEST(cairn_test::curl({s.base + "/limiter/ann"}).out.starts_with("{\"left\":"));
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(a_workers_wait_until_runs_on_after_its_response) {
  cairn_test::temp_dir data, conf;
  std::ofstream(conf.path() / "tally.js") << R"js(
    export class Tally {
      constructor(ctx) { this.ctx = ctx; }
      add() { const n = (this.ctx.storage.kv.get("n") ?? 0) + 1; this.ctx.storage.kv.put("n", n); return n; }
      count() { return this.ctx.storage.kv.get("n") ?? 0; }
    }
    export default {
      async fetch(request, env, ctx) {
        const tally = env.TALLY.getByName("t");
        if (new URL(request.url).pathname.endsWith("/later")) {
          ctx.passThroughOnException();
          ctx.waitUntil(tally.add());
          return new Response("accepted");
        }
        return new Response(String(await tally.count()));
      }
    };
  )js";
  const auto config = conf.path() / "cairn.json";
  std::ofstream(config) << R"({"workers": [{"main": ")" << (conf.path() / "tally.js").string()
                        << R"(", "route": "/w", "durable_objects": {"TALLY": "Tally"}}]})";
  cairn_test::server_process s(data.path(), {"--config", config.string()});
  BOOST_TEST(cairn_test::curl({s.base + "/w/later"}).out == "accepted");
  std::string count;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((count = cairn_test::curl({s.base + "/w/"}).out) != "1" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_TEST(count == "1");
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(a_bad_workers_config_is_refused_with_the_reason) {
  cairn_test::temp_dir data, conf;
  const auto path = conf.path() / "bad.json";
  std::ofstream(path) << R"({"workers": [{"main": "/nonexistent/x.js"}]})";
  auto r = cairn_test::run_cairn({"serve", "--port", "0", "--data-dir", data.path().string(), "--config", path.string()});
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.out.find("cannot read '/nonexistent/x.js'") != std::string::npos, r.out);
  std::ofstream(path) << R"({"workers": [{"main": "/dev/null", "colour": 1}]})";
  r = cairn_test::run_cairn({"serve", "--port", "0", "--data-dir", data.path().string(), "--config", path.string()});
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.out.find("unknown key 'colour'") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_SUITE_END()
