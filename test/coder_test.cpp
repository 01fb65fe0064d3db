// examples/coder through the real `cairn serve`: code posted as an LLM would
// write it runs with one host function (env.recall) and a fetch allowlist;
// every outcome is stored; hostile code is contained and the agent goes on.
// Also the routes perf/sandbox_bench.sh drives (/sandbox/load, /sandbox/get).
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <string>

#include <boost/json.hpp>

#include "http_client.hpp"
#include "server_process.hpp"
#include "support.hpp"

namespace {

struct posted {
  int status = 0;
  boost::json::value body;
};

// POSTs {"code": code, "input": input} and reads "<json>\n<status>".
posted post_code(const std::string& url, const std::string& code, boost::json::value input = nullptr) {
  boost::json::object req;
  req["code"] = code;
  req["input"] = std::move(input);
  const std::string body = boost::json::serialize(req);
  auto r = cairn_test::curl({"-w", "\n%{http_code}", "-H", "content-type: application/json", "--data-binary", body, url});
  const auto nl = r.out.rfind('\n');
  posted p;
  p.status = std::stoi(r.out.substr(nl + 1));
  p.body = boost::json::parse(r.out.substr(0, nl));
  return p;
}

std::string http_status(const std::vector<std::string>& args) {
  std::vector<std::string> a{"-o", "/dev/null", "-w", "%{http_code}"};
  a.insert(a.end(), args.begin(), args.end());
  return cairn_test::curl(a).out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(coder)

BOOST_AUTO_TEST_CASE(runs_code_with_one_host_function_and_an_allowlist) {
  cairn_test::temp_dir data_a, data_b;
  cairn_test::server_process other(data_a.path());
  // The coder agents of `s` may fetch from `other`'s counters and nothing else.
  ::setenv("CAIRN_CODER_FETCH", (other.base + "/counter/").c_str(), 1);
  ::setenv("CAIRN_CODER_FETCH_PRIVATE", "1", 1);
  cairn_test::server_process s(data_b.path());
  ::unsetenv("CAIRN_CODER_FETCH");
  ::unsetenv("CAIRN_CODER_FETCH_PRIVATE");
  const std::string agent = s.base + "/coder/alice";

  auto r = post_code(agent, "export default async function (input, env) {\n"
                            "  console.log('adding');\n"
                            "  return { sum: input.a + input.b, before: (await env.recall(5)).length };\n"
                            "}\n",
                     boost::json::parse(R"({"a": 2, "b": 40})"));
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(r.body.at("result") == boost::json::parse(R"({"sum": 42, "before": 0})"));
  BOOST_TEST(r.body.at("console").as_string() == "adding\n");

  // The second run sees the first through the one granted function.
  r = post_code(agent, "export default async (input, env) => (await env.recall(1))[0].result.sum;\n");
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(r.body.at("result") == 42);

  // The allowlist: the other server's counters, and nothing else.
  BOOST_TEST(cairn_test::curl({"--data-binary", "7", other.base + "/counter/x"}).out == "7");
  r = post_code(agent, "export default async (base) => (await fetch(base + '/counter/x')).text();\n",
                boost::json::value(other.base));
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(r.body.at("result") == "7\n");
  r = post_code(agent, "export default async (base) => (await fetch(base + '/counter/x')).text();\n",
                boost::json::value(s.base));
  BOOST_TEST(r.status == 422, r.body);
  BOOST_TEST(r.body.at("error") == "not_granted");

  // Hostile code gets a typed error, is stored like any outcome, and the agent goes on.
  r = post_code(agent, "export default () => { for (;;) {} };\n");
  BOOST_TEST(r.status == 422, r.body);
  BOOST_TEST(r.body.at("error") == "cpu_limit");
  r = post_code(agent, "export default (i, env) => env.recall(1000);\n");
  BOOST_TEST(r.status == 422, r.body);
  BOOST_TEST(r.body.at("error") == "guest_exception");
  BOOST_TEST(r.body.at("message").as_string().find("recall(n)") != boost::json::string::npos, r.body);
  r = post_code(agent, "export default () => 'still here';\n");
  BOOST_TEST(r.body.at("result") == "still here");

  // Every run is stored, newest first; another agent has its own history.
  auto runs = boost::json::parse(cairn_test::curl({agent}).out).as_array();
  BOOST_REQUIRE(runs.size() == 7u);
  BOOST_TEST(runs[0].at("result") == "still here");
  BOOST_TEST(runs[2].at("error") == "cpu_limit");
  BOOST_TEST(runs[6].at("result").at("sum") == 42);
  BOOST_TEST(runs[0].at("run").as_int64() == 7);
  BOOST_TEST(cairn_test::curl({s.base + "/coder/bob"}).out == "[]");

  // Bad requests lose nothing.
  BOOST_TEST(http_status({"--data-binary", "not json", agent}) == "400");
  BOOST_TEST(http_status({"--data-binary", R"({"code": 1})", agent}) == "400");
  BOOST_TEST(http_status({"-X", "PUT", agent}) == "405");
  BOOST_TEST(boost::json::parse(cairn_test::curl({agent}).out).as_array().size() == 7u);
  BOOST_TEST(s.stop() == 0);
  BOOST_TEST(other.stop() == 0);
}

BOOST_AUTO_TEST_CASE(the_benchmark_routes_run_the_pool) {
  cairn_test::temp_dir data;
  cairn_test::server_process s(data.path());
  BOOST_TEST(cairn_test::curl({s.base + "/sandbox/load?n=41"}).out == "42");
  BOOST_TEST(cairn_test::curl({s.base + "/sandbox/load?n=1&tenant=warm"}).out == "2");
  BOOST_TEST(cairn_test::curl({s.base + "/sandbox/get?n=9"}).out == "10");
  BOOST_TEST(cairn_test::curl({s.base + "/sandbox/get?n=9&id=other"}).out == "10");
  BOOST_TEST(http_status({s.base + "/sandbox/load?n=x"}) == "400");
  BOOST_TEST(http_status({s.base + "/sandbox/get"}) == "400");
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
