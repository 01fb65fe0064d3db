// The sandbox's entry points, modules, values across the boundary, the web
// platform subset, the worker cache and isolation between workers.
#include <boost/test/unit_test.hpp>

#include "sandbox_fixture.hpp"

using namespace sandbox_test;

namespace {

// A native actor the guest reaches through a granted stub.
class tally : public cairn::actor {
 public:
  std::int64_t add(std::int64_t n) {
    if (n < 0) throw std::invalid_argument("tally: only additions");
    return total_ += n;
  }
  cairn::task<std::int64_t> total() { co_return total_; }
  std::int64_t secret() const { return 7; }  // not offered by name

  static constexpr auto rpc =
      cairn::rpc_methods(cairn::rpc_method<&tally::add>("add"), cairn::rpc_method<&tally::total>("total"));

 private:
  std::int64_t total_ = 0;
};

cairn::task<std::int64_t> total_of(cairn::actor_ref<tally> t) { co_return co_await t.call(&tally::total); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(sandbox, pool_fixture)

BOOST_AUTO_TEST_CASE(a_default_function_gets_input_and_env_and_its_console_is_captured) {
  auto code = module(
      "export default async (input, env) => { console.log('n is', input.n, {k: [1]}); console.warn('careful');"
      "  return { doubled: input.n * 2, greeting: env.greeting, frozen: Object.isFrozen(env),"
      "           proto: Object.getPrototypeOf(env) === null, date: new Date(0) } }");
  code.env["greeting"] = "hello";
  json::object in;
  in["n"] = 21;
  auto o = run(std::move(code), std::move(in));
  BOOST_TEST_INFO(o.describe());
  BOOST_TEST(o.ok);
  BOOST_TEST(o.value.at("doubled") == 42);
  BOOST_TEST(o.value.at("greeting") == "hello");
  BOOST_TEST(o.value.at("frozen") == true);
  BOOST_TEST(o.value.at("proto") == true);
  BOOST_TEST(o.value.at("date") == "1970-01-01T00:00:00.000Z");
  BOOST_TEST(o.console == "n is 21 {\"k\":[1]}\n[warn] careful\n");
}

BOOST_AUTO_TEST_CASE(modules_import_each_other_and_nothing_else) {
  auto code = module("import { twice } from './lib/math.js'; export default (n) => twice(n)");
  code.modules["lib/math.js"] = "import { one } from '../one.js'; export const twice = (n) => n * 2 + one - 1;";
  code.modules["one.js"] = "export const one = 1;";
  auto o = run(std::move(code), 5);
  BOOST_TEST_INFO(o.describe());
  BOOST_TEST((o.ok && o.value == 10));

  for (const char* spec : {"node:fs", "https://example.com/x.js", "lodash", "../../etc/passwd"}) {
    auto bad = run(std::string("import x from '") + spec + "'; export default () => 1");
    BOOST_TEST_INFO(spec << ": " << bad.describe());
    BOOST_TEST(bad.failed_with(sb::errc::module_not_found));
    BOOST_TEST(bad.message.find(spec) != std::string::npos);
  }
  auto dyn = module("export default async () => (await import('./x.js')).x + (await import('node:os').catch(e => 1))");
  dyn.modules["x.js"] = "export const x = 41;";
  auto d = run(std::move(dyn));
  BOOST_TEST_INFO(d.describe());
  BOOST_TEST((d.ok && d.value == 42));
}

BOOST_AUTO_TEST_CASE(bad_code_gets_typed_errors_with_places) {
  auto syntax = run("export default () => {\n  return (1 +;\n}");
  BOOST_TEST_INFO(syntax.describe());
  BOOST_TEST(syntax.failed_with(sb::errc::syntax_error));
  BOOST_TEST(syntax.message.find("main.js:2:") == 0);

  auto throws = run("function boom() { throw new Error('at load'); }\nboom();\nexport default () => 1");
  BOOST_TEST(throws.failed_with(sb::errc::guest_exception));
  BOOST_TEST(throws.message.find("Error: at load") != std::string::npos);
  BOOST_TEST(throws.stack.find("boom (main.js:1:") != std::string::npos);

  BOOST_TEST(run("export const x = 1").failed_with(sb::errc::bad_entry_point));
  BOOST_TEST(run("export default { fetch() {} }").failed_with(sb::errc::bad_entry_point));
  sb::worker_code no_main;
  no_main.modules["a.js"] = "export default 1";
  no_main.main = "b.js";
  BOOST_TEST(run(std::move(no_main)).failed_with(sb::errc::invalid_code));

  auto big = module("export default () => 1 //" + std::string(2000, 'x'));
  big.limits.code_bytes = 1000;
  BOOST_TEST(run(std::move(big)).failed_with(sb::errc::code_too_large));
  auto env = module("export default () => 1");
  env.env["blob"] = std::string(5000, 'x');
  env.limits.env_bytes = 1000;
  BOOST_TEST(run(std::move(env)).failed_with(sb::errc::env_too_large));
  BOOST_TEST(still_serves());
}

BOOST_AUTO_TEST_CASE(only_plain_data_comes_back) {
  BOOST_TEST(run("export default () => ({ get x() { return 1 } })").failed_with(sb::errc::not_serializable));
  BOOST_TEST(run("export default () => new Proxy({}, {})").failed_with(sb::errc::not_serializable));
  BOOST_TEST(run("export default () => { const a = {}; a.a = a; return a }").failed_with(sb::errc::not_serializable));
  BOOST_TEST(run("export default () => new Map()").failed_with(sb::errc::not_serializable));
  BOOST_TEST(run("export default () => 10n").failed_with(sb::errc::not_serializable));
  auto big = module("export default () => 'x'.repeat(5000)");
  big.limits.result_bytes = 1000;
  BOOST_TEST(run(std::move(big)).failed_with(sb::errc::result_too_large));
  // Functions and undefined are left out, as JSON.stringify would.
  auto o = run("Object.prototype.polluted = 1; export default () => ({ a: 1, f() {}, u: undefined, n: [undefined, NaN] })");
  BOOST_TEST(o.ok);
  BOOST_TEST(json::serialize(o.value) == R"({"a":1,"n":[null,null]})");
}

BOOST_AUTO_TEST_CASE(the_web_platform_subset_is_there) {
  auto o = run(R"(export default async () => {
    const u = new URL('https://EXAMPLE.com:443/a/../b?x=1#f');
    u.searchParams.append('y', 'z w');
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc')));
    const hex = [...digest].map(b => b.toString(16).padStart(2, '0')).join('');
    const clone = structuredClone({ m: new Map([[1, new Date(5)]]), t: new Uint8Array([1, 2]) });
    let micro = 0;
    queueMicrotask(() => { micro = 1; });
    await null;
    const res = new Response(JSON.stringify({ hi: 'héllo' }), { status: 201, headers: { 'X-A': 'b' } });
    const req = new Request('https://example.com/p', { method: 'POST', body: 'payload' });
    return {
      href: u.href, hex, atob: atob(btoa('hi')), text: new TextDecoder().decode(new Uint8Array([0xe2, 0x82, 0xac])),
      clone: clone.m.get(1).getTime() + clone.t[1], micro, uuid: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
      random: crypto.getRandomValues(new Uint8Array(8)).length, status: res.status, header: res.headers.get('x-a'),
      json: (await res.json()).hi, body: await req.text(), method: req.method,
      absent: [typeof setTimeout, typeof process, typeof require, typeof SharedArrayBuffer, typeof Atomics.wait,
               typeof WebAssembly],
    };
  })");
  BOOST_TEST_INFO(o.describe());
  BOOST_REQUIRE(o.ok);
  BOOST_TEST(o.value.at("href") == "https://example.com/b?x=1&y=z+w#f");
  BOOST_TEST(o.value.at("hex") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(o.value.at("atob") == "hi");
  BOOST_TEST(o.value.at("text") == "\xe2\x82\xac");
  BOOST_TEST(o.value.at("clone") == 7);
  BOOST_TEST(o.value.at("micro") == 1);
  BOOST_TEST(o.value.at("uuid") == true);
  BOOST_TEST(o.value.at("random") == 8);
  BOOST_TEST(o.value.at("status") == 201);
  BOOST_TEST(o.value.at("header") == "b");
  BOOST_TEST(o.value.at("json") == "h\xc3\xa9llo");
  BOOST_TEST(o.value.at("body") == "payload");
  BOOST_TEST(json::serialize(o.value.at("absent")) ==
             R"(["undefined","undefined","undefined","undefined","undefined","undefined"])");
}

BOOST_AUTO_TEST_CASE(a_worker_style_fetch_handler_answers_requests) {
  auto got = rt.block_on([&]() -> cairn::task<std::string> {
    auto code = module(
        "export default { async fetch(request, env) {"
        "  const body = await request.text();"
        "  return new Response(`${request.method} ${new URL(request.url).pathname} ${body} ${env.tag}`,"
        "                      { status: 202, headers: { 'x-from': 'guest' } }); } }");
    code.env["tag"] = "t1";
    sb::worker w = co_await pool.load(std::move(code));
    sb::outbound_request req;
    req.method = "POST";
    req.url = "https://sandbox.local/path";
    req.body = "data";
    sb::fetch_result r = co_await w.fetch(std::move(req));
    std::string header;
    for (const auto& [k, v] : r.response.headers)
      if (k == "x-from") header = v;
    co_return std::to_string(r.response.status) + " " + header + " " + r.response.body;
  }());
  BOOST_TEST(got == "202 guest POST /path data t1");
}

BOOST_AUTO_TEST_CASE(host_functions_are_called_with_copies_and_answer_with_promises) {
  std::atomic<int> calls{0};
  auto code = module(
      "export default async (input, env) => {"
      "  const sum = await env.add(2, 3);"
      "  let refused = [];"
      "  for (const bad of [new Proxy({}, {}), { get x() { globalThis.ran = 1; return 1 } }, () => 1]) {"
      "    try { await env.add(bad, 1); refused.push('no'); } catch (e) { refused.push(e instanceof TypeError); } }"
      "  let failed = ''; try { await env.fail(); } catch (e) { failed = e.message; }"
      "  return { sum, refused, ran: globalThis.ran === undefined, failed } }");
  code.functions["add"] = [&calls](json::array args) -> cairn::task<json::value> {
    ++calls;
    co_return args.at(0).to_number<double>() + args.at(1).to_number<double>();
  };
  code.functions["fail"] = [](json::array) -> cairn::task<json::value> {
    throw std::runtime_error("the host says no");
    co_return nullptr;
  };
  auto o = run(std::move(code));
  BOOST_TEST_INFO(o.describe());
  BOOST_REQUIRE(o.ok);
  BOOST_TEST(o.value.at("sum") == 5);
  // A proxy, a getter and a function never reach the host.
  BOOST_TEST(json::serialize(o.value.at("refused")) == "[true,true,true]");
  BOOST_TEST(o.value.at("ran") == true);
  BOOST_TEST(o.value.at("failed") == "the host says no");
  BOOST_TEST(calls.load() == 1);
}

BOOST_AUTO_TEST_CASE(actor_stubs_reach_native_actors_through_the_runtime) {
  auto tallies = rt.register_namespace<tally>("tally");
  const std::string bob_id = tallies.id_from_name("bob").to_string();
  auto code = module(
      "export default async (bobId, env) => {"
      "  const a = env.TALLY.getByName('alice');"
      "  await a.add(40);"
      "  const after = await a.add(2);"
      "  const bob = env.TALLY.get(bobId);"
      "  await bob.add(1);"
      "  const errors = [];"
      "  for (const f of [() => a.add(-1), () => a.add('x'), () => a.add(), () => env.TALLY.get('zz').add(1)]) {"
      "    try { await f(); errors.push('none'); } catch (e) { errors.push(e.message); } }"
      "  return { after, total: await a.total(), bob: await bob.total(), secret: typeof a.secret,"
      "           frozen: Object.isFrozen(a) && Object.isFrozen(env.TALLY), proto: Object.getPrototypeOf(a),"
      "           errors } }");
  code.actors["TALLY"] = sb::grant_actors(tallies);
  auto o = run(std::move(code), json::value(bob_id));
  BOOST_TEST_INFO(o.describe());
  BOOST_REQUIRE(o.ok);
  BOOST_TEST(o.value.at("after") == 42);
  BOOST_TEST(o.value.at("total") == 42);
  BOOST_TEST(o.value.at("bob") == 1);
  BOOST_TEST(o.value.at("secret") == "undefined");  // only the methods offered by name
  BOOST_TEST(o.value.at("frozen") == true);
  BOOST_TEST(o.value.at("proto").is_null());
  const auto& errors = o.value.at("errors").as_array();
  BOOST_REQUIRE(errors.size() == 4u);
  BOOST_TEST(errors[0] == "tally: only additions");  // the actor's own exception, by message
  BOOST_TEST(errors[1].as_string().starts_with("cairn: argument 1 of add does not convert"), errors[1]);
  BOOST_TEST(errors[2] == "cairn: add takes 1 argument(s), not 0");
  BOOST_TEST(errors[3].as_string().find("id") != json::string::npos, errors[3]);  // a malformed hex id
  // The calls reached the real actors.
  BOOST_TEST(rt.block_on(total_of(tallies.get("alice"))) == 42);
  BOOST_TEST(rt.block_on(total_of(tallies.get("bob"))) == 1);
  // A grant's name cannot shadow another binding.
  auto clash = module("export default () => 1");
  clash.env["TALLY"] = 1;
  clash.actors["TALLY"] = sb::grant_actors(tallies);
  BOOST_TEST(run(std::move(clash)).failed_with(sb::errc::invalid_code));
}

BOOST_AUTO_TEST_CASE(cached_workers_keep_state_and_load_once) {
  int loads = 0;
  auto counts = rt.block_on([&]() -> cairn::task<std::string> {
    std::string out;
    auto loader = [&loads]() -> cairn::task<sb::worker_code> {
      ++loads;
      co_return module("let n = 0; export default () => ++n");
    };
    for (int i = 0; i < 3; ++i) {
      sb::worker w = co_await pool.get("counter", loader);
      sb::call_result r = co_await w.call(nullptr);
      out += json::serialize(r.value);
    }
    auto failing = []() -> cairn::task<sb::worker_code> {
      throw std::runtime_error("no code today");
      co_return module("");
    };
    try {
      co_await pool.get("broken", failing);
    } catch (const sb::error& e) {
      out += std::string(" ") + sb::to_string(e.code());
    }
    co_return out;
  }());
  BOOST_TEST(counts == "123 loader_failed");
  BOOST_TEST(loads == 1);
}

BOOST_AUTO_TEST_CASE(workers_never_share_globals_and_tenants_never_share_isolates) {
  auto seen = rt.block_on([&]() -> cairn::task<std::string> {
    auto writer = module("export default () => { globalThis.secret = 42; Array.prototype.evil = 1; return 1 }");
    writer.tenant = "acme";
    auto reader = module("export default () => [typeof globalThis.secret, typeof [].evil]");
    reader.tenant = "acme";
    sb::worker a = co_await pool.load(std::move(writer));
    co_await a.call(nullptr);
    sb::worker b = co_await pool.load(std::move(reader));
    sb::call_result r = co_await b.call(nullptr);
    co_return json::serialize(r.value);
  }());
  BOOST_TEST(seen == R"(["undefined","undefined"])");
  const auto before = pool.stats().isolates_created;
  auto other = module("export default () => 1");
  other.tenant = "globex";
  BOOST_TEST(run(std::move(other)).ok);
  BOOST_TEST(pool.stats().isolates_created > before);
}

BOOST_AUTO_TEST_SUITE_END()
