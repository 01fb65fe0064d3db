// JS actors' global fetch: refused unless the class grants URL prefixes,
// then under the sandbox's rules (prefix match, no private addresses unless
// granted), answered as a Response.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <optional>

#include <cairn/testing/fault_vfs.hpp>

#include <cairn/http/router.hpp>
#include <cairn/http/server.hpp>

#include "js_fixture.hpp"

using cairn_test::js_world;
namespace json = boost::json;

namespace {

const std::string fetcher_js = R"js(
export class F {
  async get(url, init) {
    try {
      const r = await fetch(url, init);
      return [r.status, r.headers.get("x-seen"), await r.text()];
    } catch (e) {
      return [e.name, e.message];
    }
  }
}
)js";

// A local server (on a runtime of its own) whose /echo answers with what it received.
struct origin {
  origin() {
    cairn::http::router r;
    r.add("/echo", [this](cairn::http::request req) -> cairn::task<cairn::http::response> {
      ++hits;
      auto res = cairn::http::make_response(cairn::http::status::created,
                                            std::string(req.method_string()) + " " + std::string(req.target()) +
                                                " " + req.body());
      res.set("x-seen", std::string(req["x-token"]));
      co_return res;
    });
    srv.emplace(rt, std::move(r));
    srv->start();
    base = "http://127.0.0.1:" + std::to_string(srv->port());
  }
  ~origin() {
    rt.stop();
    rt.run();
  }
  cairn::runtime rt{cairn_test::shards(1)};
  std::optional<cairn::http::server> srv;
  std::string base;
  std::atomic<int> hits{0};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(js_fetch)

BOOST_AUTO_TEST_CASE(fetch_reaches_only_what_the_class_grants) {
  origin o;
  js_world w;
  auto none = w.add("NONE", "F", fetcher_js);
  cairn::js::js_class c;
  c.modules["main.js"] = fetcher_js;
  c.main = "main.js";
  c.class_name = "F";
  c.fetch.policy = cairn::sandbox::fetch_policy::allow({cairn::sandbox::allow_rule(o.base + "/echo", true)});
  auto granted = w.js.add("GRANTED", c);
  // The same prefix without private addresses: 127.0.0.1 is refused after resolution.
  c.fetch.policy = cairn::sandbox::fetch_policy::allow({cairn::sandbox::allow_rule(o.base + "/echo")});
  auto public_only = w.js.add("PUBLIC", c);

  BOOST_TEST(json::serialize(w.call(none, "a", "get", {o.base + "/echo"})) ==
             R"x(["TypeError","fetch is not granted to NONE (grant URL prefixes with js_class::fetch, \"fetch\" in the config)"])x");
  json::object init{{"method", "POST"}, {"body", "hi"}, {"headers", json::object{{"x-token", "t1"}}}};
  BOOST_TEST(json::serialize(w.call(granted, "a", "get", {o.base + "/echo?q=1", init})) ==
             R"([201,"t1","POST /echo?q=1 hi"])");
  const auto outside = w.call(granted, "a", "get", {o.base + "/other"}).as_array();
  BOOST_TEST(outside.at(0).as_string() == "TypeError");
  BOOST_TEST(std::string(outside.at(1).as_string()).find("is not granted (no allow rule matches)") !=
             std::string::npos);
  const auto refused = w.call(public_only, "a", "get", {o.base + "/echo"}).as_array();
  BOOST_TEST(std::string(refused.at(1).as_string()).find("non-public address") != std::string::npos, json::serialize(refused));
}

BOOST_AUTO_TEST_CASE(a_fetch_after_writes_that_fail_to_commit_never_leaves) {
  origin o;
  cairn_test::temp_dir dir;
  cairn::runtime rt(cairn_test::with_disk_faults(dir, 1));
  cairn::js::registry js(rt);
  cairn::js::js_class c;
  c.modules["main.js"] = R"js(
    export class W {
      constructor(ctx) { this.ctx = ctx; }
      async writeThenFetch(url) {
        this.ctx.storage.kv.put("k", 1);
        try { return "sent: " + (await fetch(url)).status; } catch (e) { return e.message; }
      }
      async fetchOnly(url) { return (await fetch(url)).status; }
    }
  )js";
  c.main = "main.js";
  c.class_name = "W";
  c.fetch.policy = cairn::sandbox::fetch_policy::allow({cairn::sandbox::allow_rule(o.base + "/", true)});
  auto ns = js.add("W", c);
  BOOST_TEST(rt.block_on(cairn::js::call(ns.get("a"), "fetchOnly", {o.base + "/echo"})).as_int64() == 201);
  BOOST_TEST(o.hits.load() == 1);
  cairn::testing::fail_writes(true);
  std::string outcome;
  try {
    outcome = json::serialize(rt.block_on(cairn::js::call(ns.get("a"), "writeThenFetch", {o.base + "/echo"})));
  } catch (const std::exception& e) {
    outcome = e.what();  // the reply may be voided with the failed commit
  }
  cairn::testing::fail_writes(false);
  BOOST_TEST(outcome.find("sent") == std::string::npos, outcome);
  BOOST_TEST(o.hits.load() == 1);  // the fetch never reached the origin
  BOOST_TEST(rt.block_on(cairn::js::call(ns.get("a"), "fetchOnly", {o.base + "/echo"})).as_int64() == 201);
  rt.stop();
  rt.run();
}

BOOST_AUTO_TEST_SUITE_END()
