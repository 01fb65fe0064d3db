// JS actors: the class, ctx.id, RPC from C++, JS <-> JS and JS <-> native
// calls, errors crossing, fetch, blockConcurrencyWhile, bad classes.
#include <boost/test/unit_test.hpp>

#include <cairn/actor.hpp>
#include <cairn/rpc.hpp>
#include <cairn/when_all.hpp>

#include "js_fixture.hpp"

using cairn_test::js_world;
namespace json = boost::json;

namespace {

// Cloudflare's documented counter (examples/js_counter/counter.js), plus a
// method that reports the id.
const std::string counter_js = cairn_test::source_file("examples/js_counter/counter.js") + R"js(
export class WhoAmI extends Counter {
  whoAmI() { return this.ctx.id.toString(); }
}
)js";

struct limiter : cairn::actor {
  std::int64_t left = 3;
  std::int64_t take(std::int64_t n) {
    if (n > left) throw std::runtime_error("rate limited: " + std::to_string(left) + " left");
    left -= n;
    return left;
  }
  static constexpr auto rpc = cairn::rpc_methods(cairn::rpc_method<&limiter::take>("take"));
};

}  // namespace

BOOST_AUTO_TEST_SUITE(js_actors)

BOOST_AUTO_TEST_CASE(the_documented_counter_counts_per_id) {
  js_world w;
  auto counters = w.add("COUNTERS", "WhoAmI", counter_js);
  BOOST_TEST(w.call(counters, "a", "increment").as_int64() == 1);
  BOOST_TEST(w.call(counters, "a", "increment", {5}).as_int64() == 6);
  BOOST_TEST(w.call(counters, "a", "decrement", {2}).as_int64() == 4);
  BOOST_TEST(w.call(counters, "b", "getCounterValue").as_int64() == 0);
  BOOST_TEST(w.call(counters, "a", "getCounterValue").as_int64() == 4);
  BOOST_TEST(w.call(counters, "a", "whoAmI").as_string() == counters.id_from_name("a").to_string());
}

BOOST_AUTO_TEST_CASE(state_survives_a_restart) {
  cairn_test::temp_dir dir;
  for (int round = 1; round <= 2; ++round) {
    cairn::runtime rt(js_world::options(dir, 2));
    cairn::js::registry js(rt);
    cairn::js::js_class c;
    c.modules["main.js"] = counter_js;
    c.main = "main.js";
    c.class_name = "Counter";
    auto ns = js.add("COUNTERS", c);
    BOOST_TEST(rt.block_on(cairn::js::call(ns.get("x"), "increment", {10})).as_int64() == 10 * round);
  }
}

BOOST_AUTO_TEST_CASE(unknown_methods_and_errors_reach_the_caller_with_their_message) {
  js_world w;
  auto ns = w.add("T", "T", R"js(
    export class T {
      boom() { throw new RangeError("too far"); }
      async later() { await null; throw new Error("async boom"); }
      fine() { return { a: [1, "two", null], b: true }; }
      map() { return new Map(); }
    }
  )js");
  BOOST_TEST(w.error_of(ns, "x", "nope") == "TypeError: The RPC receiver does not implement the method \"nope\".");
  BOOST_TEST(w.error_of(ns, "x", "constructor").find("does not implement") != std::string::npos);
  BOOST_TEST(w.error_of(ns, "x", "toString").find("does not implement") != std::string::npos);
  BOOST_TEST(w.error_of(ns, "x", "boom") == "RangeError: too far");
  BOOST_TEST(w.error_of(ns, "x", "later") == "Error: async boom");
  BOOST_TEST(json::serialize(w.call(ns, "x", "fine")) == R"({"a":[1,"two",null],"b":true})");
  BOOST_TEST(w.error_of(ns, "x", "map").find("cannot cross to C++ as JSON") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(js_actors_call_each_other_by_structured_clone) {
  js_world w;
  w.add("COUNTERS", "Counter", counter_js);
  auto front = w.add("FRONT", "Front", R"js(
    import { DurableObject } from "cloudflare:workers";
    export class Front extends DurableObject {
      async bump(name, n) {
        const stub = this.env.COUNTERS.getByName(name);
        return await stub.increment(n);
      }
      async echo(name) {
        const stub = this.env.PEER.get(this.env.PEER.idFromName(name));
        const v = { when: new Date(5), m: new Map([["k", new Uint8Array([1, 2])]]) };
        v.self = v;
        const back = await stub.mirror(v);
        return [back.when instanceof Date, back.when.getTime(), back.m.get("k")[1], back.self === back];
      }
      mirror(v) { return v; }
      async failing() {
        try { await this.env.PEER.getByName("z").boom(); } catch (e) { return [e instanceof RangeError, e.message]; }
      }
      boom() { throw new RangeError("remote"); }
      async ids() {
        const a = this.env.COUNTERS.idFromName("q");
        const b = this.env.COUNTERS.idFromString(a.toString());
        let bad = "";
        try { this.env.COUNTERS.idFromString("00"); } catch (e) { bad = e.name; }
        return [a.equals(b), a.name, b.name === undefined, bad, this.env.COUNTERS.newUniqueId().toString().length];
      }
    }
  )js", {{"COUNTERS", "COUNTERS"}, {"PEER", "FRONT"}});
  BOOST_TEST(w.call(front, "f", "bump", {"a", 3}).as_int64() == 3);
  BOOST_TEST(w.call(front, "g", "bump", {"a", 4}).as_int64() == 7);
  BOOST_TEST(json::serialize(w.call(front, "f", "echo", {"other"})) == "[true,5,2,true]");
  BOOST_TEST(json::serialize(w.call(front, "f", "failing")) == R"([true,"remote"])");
  BOOST_TEST(json::serialize(w.call(front, "f", "ids")) == R"([true,"q",true,"TypeError",64])");
}

BOOST_AUTO_TEST_CASE(js_calls_native_methods_offered_by_name) {
  js_world w;
  auto limiters = w.rt.register_namespace<limiter>("LIMITER");
  w.js.offer(limiters);
  auto room = w.add("ROOM", "Room", R"js(
    export class Room {
      constructor(ctx, env) { this.env = env; }
      async post(n) {
        try { return await this.env.LIMITER.getByName("alice").take(n); }
        catch (e) { return "refused: " + e.message; }
      }
      async wrong() {
        try { return await this.env.LIMITER.getByName("alice").take("many"); } catch (e) { return e.message; }
      }
    }
  )js", {{"LIMITER", "LIMITER"}});
  BOOST_TEST(w.call(room, "r", "post", {2}).as_int64() == 1);
  BOOST_TEST(w.call(room, "r", "post", {2}).as_string() == "refused: rate limited: 1 left");
  BOOST_TEST(w.call(room, "r", "wrong").as_string().find("argument 1 of take does not convert") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(fetch_handlers_take_requests_and_give_responses) {
  js_world w;
  auto ns = w.add("WEB", "Web", R"js(
    export class Web {
      constructor(ctx, env) { this.env = env; }
      async fetch(request) {
        const url = new URL(request.url);
        const body = request.method === "POST" ? await request.text() : "";
        return new Response(JSON.stringify({ path: url.pathname, q: url.searchParams.get("q"), body }),
                            { status: 201, headers: { "x-kind": "js" } });
      }
      async viaStub() {
        const r = await this.env.WEB.getByName("other").fetch("http://example.com/p?q=2", { method: "POST", body: "b" });
        return [r.status, r.headers.get("x-kind"), await r.json()];
      }
    }
  )js", {{"WEB", "WEB"}});
  BOOST_TEST(json::serialize(w.call(ns, "front", "viaStub")) == R"([201,"js",{"path":"/p","q":"2","body":"b"}])");
  cairn::http::request req(cairn::http::verb::post, "/hello?q=1", 11);
  req.set(cairn::http::field::host, "example.com");
  req.body() = "hi there";
  req.prepare_payload();
  auto res = w.rt.block_on([](auto ref, cairn::http::request r) -> cairn::task<cairn::http::response> {
    co_return co_await ref.call(&cairn::js::js_actor::fetch, std::move(r));
  }(ns.get("w"), req));
  BOOST_TEST(res.result_int() == 201);
  BOOST_TEST(res["x-kind"] == "js");
  BOOST_TEST(res.body() == R"({"path":"/hello","q":"1","body":"hi there"})");
}

BOOST_AUTO_TEST_CASE(block_concurrency_while_holds_other_events) {
  js_world w;
  auto ns = w.add("B", "B", R"js(
    export class B {
      constructor(ctx, env) {
        this.ctx = ctx; this.env = env; this.log = [];
        ctx.blockConcurrencyWhile(async () => { this.log.push("init"); });
      }
      async slow() {
        await this.ctx.blockConcurrencyWhile(async () => {
          this.log.push("slow:start");
          await this.env.SELF.getByName("other").note();
          this.log.push("slow:end");
        });
        return this.log.slice();
      }
      quick() { this.log.push("quick"); return this.log.slice(); }
      note() { return 1; }
    }
  )js", {{"SELF", "B"}});
  auto r = w.rt.block_on([](auto ref) -> cairn::task<json::value> {
    auto a = cairn::js::call(ref, "slow", {});
    auto b = cairn::js::call(ref, "quick", {});
    auto both = co_await cairn::when_all(std::move(a), std::move(b));
    json::array out;
    out.push_back(std::get<0>(both));
    out.push_back(std::get<1>(both));
    co_return out;
  }(ns.get("b")));
  // quick() ran only after slow()'s block ended, though slow() awaited another actor.
  BOOST_TEST(json::serialize(r) ==
             R"([["init","slow:start","slow:end"],["init","slow:start","slow:end","quick"]])");
}

BOOST_AUTO_TEST_CASE(a_block_that_never_settles_ends_at_the_wall_limit_and_the_actor_serves_again) {
  js_world w;
  w.limits.wall_per_event = std::chrono::milliseconds(200);
  auto ns = w.add("H", "H", R"js(
    export class H {
      constructor(ctx) { this.ctx = ctx; this.n = 0; }
      async hang() { await this.ctx.blockConcurrencyWhile(() => new Promise(() => {})); }
      async failInit() { await this.ctx.blockConcurrencyWhile(async () => { throw new Error("bad init"); }); }
      count() { return ++this.n; }
    }
  )js");
  BOOST_TEST(w.call(ns, "h", "count").as_int64() == 1);
  BOOST_TEST(w.error_of(ns, "h", "hang") == "the event did not finish within 200 ms; the actor was reset");
  // The reset let go of the block: the next event runs, on a new object.
  BOOST_TEST(w.call(ns, "h", "count").as_int64() == 1);
  BOOST_TEST(w.error_of(ns, "h", "failInit").find("bad init") != std::string::npos);
  BOOST_TEST(w.call(ns, "h", "count").as_int64() == 1);
  BOOST_TEST(w.call(ns, "h", "count").as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(abort_resets_the_object_uncatchably_and_undoes_the_slices_writes) {
  js_world w;
  auto ns = w.add("A", "A", R"js(
    export class A {
      constructor(ctx) { this.ctx = ctx; this.n = 0; }
      count() { return ++this.n; }
      x() { return this.ctx.storage.kv.get("x") ?? null; }
      async keep() { this.ctx.storage.kv.put("kept", 1); }
      kept() { return this.ctx.storage.kv.get("kept") ?? null; }
      abortAfterWrite(reason) {
        this.ctx.storage.kv.put("x", 1);
        try { this.ctx.abort(reason); } catch (e) { return "caught"; }
        return "went on";
      }
    }
  )js");
  BOOST_TEST(w.call(ns, "a", "count").as_int64() == 1);
  w.call(ns, "a", "keep");
  BOOST_TEST(w.error_of(ns, "a", "abortAfterWrite", {"gone"}) ==
             "gone (ctx.abort(); the Durable Object was reset)");
  BOOST_TEST(w.call(ns, "a", "count").as_int64() == 1);  // a new object
  BOOST_TEST(w.call(ns, "a", "x").is_null());            // the aborted slice's write was undone
  BOOST_TEST(w.call(ns, "a", "kept").as_int64() == 1);   // an earlier event's stays
  BOOST_TEST(w.error_of(ns, "a", "abortAfterWrite") == "the Durable Object called ctx.abort(); it was reset");
  BOOST_TEST(w.call(ns, "b", "count").as_int64() == 1);  // others serve
}

BOOST_AUTO_TEST_CASE(bad_classes_fail_their_callers_clearly_and_others_keep_serving) {
  js_world w;
  auto syntax = w.add("S", "S", "export class S { oops( }");
  auto missing = w.add("M", "Nope", "export class S {}");
  auto throwing = w.add("C", "C", "export class C { constructor() { throw new Error('no state'); } }");
  auto good = w.add("COUNTERS", "Counter", counter_js);
  BOOST_TEST(w.error_of(syntax, "a", "x").find("main.js:1") != std::string::npos);
  BOOST_TEST(w.error_of(missing, "a", "x").find("exports no class 'Nope'") != std::string::npos);
  BOOST_TEST(w.error_of(throwing, "a", "x").find("the constructor of C threw: Error: no state") != std::string::npos);
  BOOST_TEST(w.call(good, "a", "increment").as_int64() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
