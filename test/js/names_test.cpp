// JS actors: ctx.id.name is the name the actor was reached by (getByName,
// idFromName, a route by name), from its first constructor on, and stays
// known where no name comes along: calls by id, alarms, after a restart.
// The event that makes the object waits for its constructor's
// blockConcurrencyWhile().
#include <chrono>
#include <thread>

#include <boost/test/unit_test.hpp>

#include <cairn/http/router.hpp>

#include "js_fixture.hpp"

using cairn_test::js_world;
namespace json = boost::json;
using js_ns = cairn::actor_namespace<cairn::js::js_actor>;

namespace {

const std::string names_js = R"js(
export class Named {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.atConstruction = ctx.id.name ?? null;
  }
  seen() { return [this.atConstruction, this.ctx.id.name ?? null]; }
  async viaName(n) { return await this.env.SELF.getByName(n).seen(); }
  async viaIdFromName(n) { return await this.env.SELF.get(this.env.SELF.idFromName(n)).seen(); }
  async viaHex(hex) { return await this.env.SELF.get(this.env.SELF.idFromString(hex)).seen(); }
  async viaUnique() { return await this.env.SELF.get(this.env.SELF.newUniqueId()).seen(); }
  async fetchByName(n) { return await (await this.env.SELF.getByName(n).fetch("http://x/")).text(); }
  fetch() { return new Response(String(this.ctx.id.name)); }
  async wipe() { await this.ctx.storage.deleteAll(); }
  async armAlarm(ms) { await this.ctx.storage.setAlarm(Date.now() + ms); }
  async alarm() { await this.env.LOG.getByName("log").note(this.ctx.id.name ?? null); }
}
export class Log {
  async note(v) {
    const all = (await this.ctx.storage.get("notes")) ?? [];
    all.push(v);
    await this.ctx.storage.put("notes", all);
  }
  async notes() { return (await this.ctx.storage.get("notes")) ?? []; }
  constructor(ctx) { this.ctx = ctx; }
}
)js";

js_ns add_named(cairn::js::registry& js, const char* cls, const char* ns) {
  cairn::js::js_class c;
  c.modules["main.js"] = names_js;
  c.main = "main.js";
  c.class_name = cls;
  c.bindings = {{"SELF", "NAMES"}, {"LOG", "LOGS"}};
  return js.add(ns, std::move(c));
}

json::value named_call(cairn::runtime& rt, js_ns ns, const std::string& name, const std::string& method,
                       json::array args = {}) {
  return rt.block_on(cairn::js::call(ns, name, method, std::move(args)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(js_names)

BOOST_AUTO_TEST_CASE(the_constructor_and_every_handler_see_the_name_the_actor_was_reached_by) {
  js_world w;
  auto ns = add_named(w.js, "Named", "NAMES");
  add_named(w.js, "Log", "LOGS");
  // From C++ by name: the very first constructor sees it.
  BOOST_TEST(json::serialize(named_call(w.rt, ns, "alice", "seen")) == R"(["alice","alice"])");
  // By id afterwards (no name comes along): still known.
  BOOST_TEST(json::serialize(w.call(ns, "alice", "seen")) == R"(["alice","alice"])");
  // From JS: getByName and get(idFromName(...)) carry it, to a new actor each.
  BOOST_TEST(json::serialize(w.call(ns, "alice", "viaName", {"bob"})) == R"(["bob","bob"])");
  BOOST_TEST(json::serialize(w.call(ns, "alice", "viaIdFromName", {"carol"})) == R"(["carol","carol"])");
  // idFromString of a named actor's id reaches it with its name.
  const std::string bob = ns.id_from_name("bob").to_string();
  BOOST_TEST(json::serialize(w.call(ns, "alice", "viaHex", {bob})) == R"(["bob","bob"])");
  // An actor never reached by name has none.
  BOOST_TEST(json::serialize(w.call(ns, "alice", "viaUnique")) == "[null,null]");
  BOOST_TEST(json::serialize(w.rt.block_on(cairn::js::call(ns.get(ns.new_unique_id()), "seen", {}))) ==
             "[null,null]");
  // fetch() through a stub of getByName carries it as well.
  BOOST_TEST(w.call(ns, "alice", "fetchByName", {"dave"}).as_string() == "dave");
}

BOOST_AUTO_TEST_CASE(a_name_learned_after_construction_names_the_live_object) {
  js_world w;
  auto ns = add_named(w.js, "Named", "NAMES");
  // Made by a call by id, with nothing recorded: no name yet.
  BOOST_TEST(json::serialize(w.call(ns, "erin", "seen")) == "[null,null]");
  // A call by name then names the same object; its constructor ran before.
  BOOST_TEST(json::serialize(named_call(w.rt, ns, "erin", "seen")) == R"([null,"erin"])");
  BOOST_TEST(json::serialize(w.call(ns, "erin", "seen")) == R"([null,"erin"])");
}

BOOST_AUTO_TEST_CASE(a_name_that_is_not_the_ids_is_refused) {
  js_world w;
  auto ns = add_named(w.js, "Named", "NAMES");
  std::string error;
  try {
    w.rt.block_on([](auto ref) -> cairn::task<json::value> {
      co_return co_await ref.call(&cairn::js::js_actor::call_named, std::string("mallory"), std::string("seen"),
                                  json::array{});
    }(ns.get("frank")));
  } catch (const std::exception& e) {
    error = e.what();
  }
  BOOST_TEST(error.find("'mallory' is not the name of NAMES/" + ns.id_from_name("frank").to_string()) !=
             std::string::npos);
  // Nothing was recorded: frank's object, made next, has no name until one comes.
  BOOST_TEST(json::serialize(w.call(ns, "frank", "seen")) == "[null,null]");
  BOOST_TEST(json::serialize(named_call(w.rt, ns, "frank", "seen")) == R"([null,"frank"])");
}

BOOST_AUTO_TEST_CASE(a_route_by_name_gives_the_name_and_a_route_by_id_finds_it_recorded) {
  js_world w;
  auto ns = add_named(w.js, "Named", "NAMES");
  cairn::http::router r;
  r.expose("names", ns);
  auto get = [&](const std::string& target) {
    cairn::http::request req(cairn::http::verb::get, target, 11);
    req.set(cairn::http::field::host, "example.com");
    return std::string(w.rt.block_on(r.route(req)).body());
  };
  BOOST_TEST(get("/names/grace%20hopper/") == "grace hopper");
  BOOST_TEST(get("/names/~" + ns.id_from_name("grace hopper").to_string() + "/") == "grace hopper");
  BOOST_TEST(get("/names/~" + ns.new_unique_id().to_string() + "/") == "undefined");
}

BOOST_AUTO_TEST_CASE(the_name_survives_delete_all_and_a_restart_and_reaches_the_alarm) {
  cairn_test::temp_dir dir;
  {
    cairn::runtime rt(js_world::options(dir, 2));
    cairn::js::registry js(rt);
    auto ns = add_named(js, "Named", "NAMES");
    add_named(js, "Log", "LOGS");
    named_call(rt, ns, "heidi", "wipe");  // deleteAll() removes the keys, not the name
    named_call(rt, ns, "heidi", "armAlarm", {1500});  // due after this runtime is gone
  }
  // A new process: the alarm wakes heidi with no name coming along.
  cairn::runtime rt(js_world::options(dir, 2));
  cairn::js::registry js(rt);
  auto ns = add_named(js, "Named", "NAMES");
  auto logs = add_named(js, "Log", "LOGS");
  json::value notes;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((notes = rt.block_on(cairn::js::call(logs.get("log"), "notes", {}))).as_array().empty() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_TEST(json::serialize(notes) == R"(["heidi"])");
  BOOST_TEST(json::serialize(rt.block_on(cairn::js::call(ns.get("heidi"), "seen", {}))) == R"(["heidi","heidi"])");
}

BOOST_AUTO_TEST_CASE(the_event_that_makes_the_object_waits_for_its_constructors_blocks) {
  js_world w;
  auto ns = w.add("LATE", "Late", R"js(
    export class Late {
      constructor(ctx, env) {
        this.ready = "no";
        if (ctx.id.name === "helper") return;
        ctx.blockConcurrencyWhile(async () => {
          await env.SELF.getByName("helper").ping();  // a real wait on another actor
          if ((ctx.id.name ?? "").startsWith("bad")) throw new Error("setup failed");
          this.ready = "yes";
        });
      }
      ping() { return 1; }
      isReady() { return this.ready; }
    }
  )js", {{"SELF", "LATE"}});
  BOOST_TEST(named_call(w.rt, ns, "first", "isReady").as_string() == "yes");
  // A block that fails fails the event that waited for it, and resets the object.
  std::string error;
  try {
    named_call(w.rt, ns, "bad-1", "isReady");
  } catch (const std::exception& e) {
    error = e.what();
  }
  BOOST_TEST(error.find("setup failed") != std::string::npos);
  BOOST_TEST(w.error_of(ns, "bad-1", "isReady").find("setup failed") != std::string::npos);  // rebuilt, fails again
  BOOST_TEST(named_call(w.rt, ns, "second", "isReady").as_string() == "yes");
}

BOOST_AUTO_TEST_SUITE_END()
