// `cairn serve`: the config and flags, and the real binary with the example
// counter, stopped by SIGTERM and started again on the same data.
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <string>

#include <cairn/http/serve.hpp>

#include "http_client.hpp"
#include "server_process.hpp"
#include "support.hpp"

using cairn_test::server_process;

BOOST_AUTO_TEST_SUITE(serve)

BOOST_AUTO_TEST_CASE(config_file_and_flags) {
  auto c = cairn::serve::default_config();
  BOOST_TEST(c.http.port == 8080);
  cairn::serve::apply_json(c, R"({"port": 9000, "durability": "normal", "expose": ["a", "b"],
                                   "max_connections": 7, "read_timeout_ms": 1500, "data_dir": "/x"})");
  BOOST_TEST(c.http.port == 9000);
  BOOST_TEST((c.runtime.durability == cairn::durability::normal));
  BOOST_TEST(c.expose.size() == 2);
  BOOST_TEST(c.http.max_connections == 7);
  BOOST_TEST(c.http.read_timeout.count() == 1500);
  BOOST_TEST(c.runtime.data_dir == "/x");
  cairn::serve::apply_flags(c, {"--port", "9001", "--max-body-bytes=10", "--expose", "a",
                                "--max-websocket-message-bytes", "4096", "--websocket-idle-timeout-ms", "2500",
                                "--idle-spin-us", "0", "--max-send-queue-bytes", "65536"});
  BOOST_TEST(c.runtime.idle_spin.count() == 0);
  BOOST_TEST(c.http.max_send_queue_bytes == 65536u);
  BOOST_TEST(c.http.port == 9001);
  BOOST_TEST(c.http.max_websocket_message_bytes == 4096);
  BOOST_TEST(c.http.websocket_idle_timeout.count() == 2500);
  BOOST_TEST(c.http.max_body_bytes == 10);
  BOOST_TEST(c.expose.size() == 1);

  auto refused = [&](auto f, std::string_view needle) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string_view(e.what()).find(needle) != std::string_view::npos;
    }
    return false;
  };
  BOOST_TEST(refused([&] { cairn::serve::apply_json(c, R"({"prot": 1})"); }, "unknown setting 'prot'"));
  BOOST_TEST(refused([&] { cairn::serve::apply_json(c, R"({"port": 70000})"); }, "'port': at most 65535"));
  BOOST_TEST(refused([&] { cairn::serve::apply_json(c, R"({"port": "80"})"); }, "'port': expected a non-negative"));
  BOOST_TEST(refused([&] { cairn::serve::apply_json(c, R"({"durability": "fast"})"); }, "full, normal or memory"));
  BOOST_TEST(refused([&] { cairn::serve::apply_json(c, "{not json"); }, "not valid JSON"));
  BOOST_TEST(refused([&] { cairn::serve::apply_flags(c, {"--port"}); }, "needs a value"));
  BOOST_TEST(refused([&] { cairn::serve::apply_flags(c, {"--port", "-1"}); }, "'port'"));
  BOOST_TEST(refused([&] { cairn::serve::apply_flags(c, {"--config", "/nonexistent/c.json"}); }, "cannot read"));
  BOOST_TEST(c.http.port == 9001);  // nothing half-applied by a refused value
}

BOOST_AUTO_TEST_CASE(the_server_binary_keeps_counts_across_restarts) {
  cairn_test::temp_dir dir;
  {
    server_process s(dir.path());
    BOOST_TEST(cairn_test::curl({"-X", "POST", s.base + "/counter/visits"}).out == "1");
    BOOST_TEST(cairn_test::curl({"--data-binary", "41", s.base + "/counter/visits"}).out == "42");
    BOOST_TEST(cairn_test::curl({"-w", "%{http_code}", "-o", "/dev/null", "--data-binary", "x", s.base + "/counter/visits"})
                   .out == "400");
    BOOST_TEST(s.stop() == 0);
  }
  server_process s(dir.path());
  BOOST_TEST(cairn_test::curl({s.base + "/counter/visits"}).out == "42");
  BOOST_TEST(cairn_test::curl({"-X", "DELETE", s.base + "/counter/visits"}).out == "0");
  BOOST_TEST(s.stop() == 0);
}

// examples/loadgen against the server binary: every POST it counts as done
// is one increment the counter kept, so its count is neither short nor long.
BOOST_AUTO_TEST_CASE(the_load_generator_counts_what_the_server_did) {
  cairn_test::temp_dir dir;
  server_process s(dir.path());
  cairn_test::child_process lg({CAIRN_LOADGEN_BINARY, "http", s.base + "/counter/load", "--users", "8",
                                "--seconds", "0.5", "--warmup", "0", "--shards", "2", "--method", "POST", "--json"});
  const auto line = lg.read_line(std::chrono::seconds(30));
  BOOST_REQUIRE(line.has_value());
  const int status = lg.wait();
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), *line);
  const auto field = [&](std::string_view name) -> std::string {
    const auto at = line->find("\"" + std::string(name) + "\":");
    if (at == std::string::npos) return "missing";
    const auto from = at + name.size() + 3;
    return line->substr(from, line->find_first_of(",}", from) - from);
  };
  BOOST_TEST(field("errors") == "0");
  BOOST_TEST(field("non_2xx") == "0");
  const std::string ok = field("ok");
  BOOST_TEST(std::stoull(ok) > 0u);
  // Requests still in flight at the end are answered but not counted: at most one per user.
  const auto stored = std::stoull(cairn_test::curl({s.base + "/counter/load"}).out);
  BOOST_TEST(stored >= std::stoull(ok));
  BOOST_TEST(stored <= std::stoull(ok) + 8);
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
