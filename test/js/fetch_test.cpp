// JS actors' global fetch: refused unless the class grants URL prefixes,
// then under the sandbox's rules (prefix match, no private addresses unless
// granted), answered as a Response.
#include <boost/test/unit_test.hpp>

#include <optional>

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
    r.add("/echo", [](cairn::http::request req) -> cairn::task<cairn::http::response> {
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

BOOST_AUTO_TEST_SUITE_END()
