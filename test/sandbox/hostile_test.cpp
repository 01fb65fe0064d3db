// Hostile guests: each is contained with the right typed error while the pool
// keeps serving; and a soak of mixed runs after which memory is back near
// where it started.
#include <fstream>

#include <boost/test/unit_test.hpp>

#include <atomic>

#include "sandbox_fixture.hpp"

using namespace sandbox_test;

namespace {

sb::worker_code limited(std::string src, std::chrono::milliseconds cpu = 200ms, std::size_t heap = 128u << 20) {
  auto c = module(std::move(src));
  c.limits.cpu = cpu;
  c.limits.heap_bytes = heap;
  return c;
}

std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * 4096;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(sandbox_hostile, pool_fixture)

BOOST_AUTO_TEST_CASE(code_from_strings_is_refused_in_every_form) {
  for (const char* src : {"export default () => eval('1 + 1')", "export default () => (0, eval)('1')",
                          "export default () => new Function('return 1')()",
                          "export default () => Function('return this')()",
                          "export default () => (async function () {}).constructor('return 1')()",
                          "export default () => (function* () {}).constructor('yield 1')().next()",
                          "export default () => (async function* () {}).constructor('yield 1')"}) {
    auto o = run(src);
    BOOST_TEST_INFO(src << " -> " << o.describe());
    BOOST_TEST(o.failed_with(sb::errc::guest_exception));
    BOOST_TEST(o.message.find("EvalError") != std::string::npos);
  }
  BOOST_TEST(still_serves());
}

BOOST_AUTO_TEST_CASE(cpu_loops_are_terminated_even_inside_microtasks) {
  for (const char* src : {"export default () => { for (;;) {} }",
                          "export default () => { const spin = () => Promise.resolve().then(spin); spin(); return new Promise(() => {}) }",
                          "export default async () => { await null; while (true) {} }",
                          "for (;;) {}\nexport default () => 1"}) {
    auto o = run(limited(src, 50ms));
    BOOST_TEST_INFO(src << " -> " << o.describe());
    BOOST_TEST(o.failed_with(sb::errc::cpu_limit));
  }
  BOOST_TEST(still_serves());
}

BOOST_AUTO_TEST_CASE(heap_bombs_drop_the_isolate_and_the_process_survives) {
  for (const char* src : {"export default () => { const a = []; for (;;) a.push({ i: a.length, s: 'x' + a.length }); }",
                          "export default () => { let s = '[0]'; for (let i = 0; i < 40; i++) s = '[' + s + ',' + s + ']'; return JSON.parse(s).length }",
                          "export default () => { const m = new Map(); for (let i = 0; ; i++) m.set(i, [i, i, i]); }"}) {
    const auto dropped = pool.stats().isolates_dropped_for_heap;
    auto o = run(limited(src, 10'000ms, 24u << 20));
    BOOST_TEST_INFO(src << " -> " << o.describe());
    // A doubling string hits V8's maximum string length first: a RangeError.
    const bool heap = o.failed_with(sb::errc::heap_limit) && pool.stats().isolates_dropped_for_heap == dropped + 1;
    const bool range = o.failed_with(sb::errc::guest_exception) && o.message.find("RangeError") != std::string::npos;
    BOOST_TEST((heap || range));
  }
  auto spread = run(limited("export default () => [...'x'.repeat(1e9)].length", 10'000ms, 24u << 20));
  BOOST_TEST(spread.failed_with(sb::errc::guest_exception));
  BOOST_TEST(spread.message.find("Invalid string length") != std::string::npos);
  auto huge = run(limited("export default () => { let s = 'x'; for (;;) s += s; }", 10'000ms, 24u << 20));
  BOOST_TEST_INFO(huge.describe());
  BOOST_TEST((huge.failed_with(sb::errc::heap_limit) || huge.message.find("Invalid string length") != std::string::npos));
  BOOST_TEST(still_serves());
}

BOOST_AUTO_TEST_CASE(array_buffer_bombs_hit_their_budget) {
  for (const char* src : {"export default () => new ArrayBuffer(1e9).byteLength",
                          "export default () => { const keep = []; for (;;) keep.push(new Uint8Array(1 << 20)); }",
                          "export default () => new TextEncoder().encode('x'.repeat(1 << 27)).length"}) {
    auto c = limited(src, 10'000ms);
    c.limits.array_buffer_bytes = 16u << 20;
    auto o = run(std::move(c));
    BOOST_TEST_INFO(src << " -> " << o.describe());
    BOOST_TEST(o.failed_with(sb::errc::array_buffer_limit));
  }
  BOOST_TEST(still_serves());
}

BOOST_AUTO_TEST_CASE(webassembly_is_off_unless_granted_and_then_capped) {
  auto off = run("export default () => typeof WebAssembly");
  BOOST_TEST((off.ok && off.value == "undefined"));
  auto on = module(
      "export default () => { const m = new WebAssembly.Memory({ initial: 1 });"
      "  m.grow(10);"
      "  try { m.grow(100000); return 'grew' } catch (e) { return e.constructor.name + ' ' + m.buffer.byteLength } }");
  on.limits.wasm = true;
  auto o = run(std::move(on));
  BOOST_TEST_INFO(o.describe());
  BOOST_TEST((o.ok && o.value == "RangeError 720896"));
}

BOOST_AUTO_TEST_CASE(a_pool_without_webassembly_refuses_to_grant_it) {
  sb::pool_options o;
  o.threads = 1;
  o.webassembly = false;  // V8 keeps what the first pool set; this pool refuses the grant
  sb::pool no_wasm(rt, o);
  auto code = module("export default () => typeof WebAssembly");
  code.limits.wasm = true;
  const auto refused = rt.block_on(capture([&]() -> cairn::task<sb::call_result> {
    sb::worker_code c = std::move(code);
    co_return co_await no_wasm.run(std::move(c), nullptr);
  }));
  BOOST_TEST_INFO(refused.describe());
  BOOST_TEST(refused.failed_with(sb::errc::not_granted));
  BOOST_TEST(refused.message.find("WebAssembly is off") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_shared_memory_and_no_atomics_wait) {
  auto o = run(
      "export default () => [typeof SharedArrayBuffer, typeof Atomics.wait, typeof Atomics.waitAsync,"
      "  typeof globalThis.SharedArrayBuffer]");
  BOOST_TEST((o.ok && json::serialize(o.value) == R"(["undefined","undefined","undefined","undefined"])"));
}

BOOST_AUTO_TEST_CASE(deep_recursion_is_a_range_error) {
  auto o = run("export default () => { const f = (n) => f(n + 1) + 1; return f(0) }");
  BOOST_TEST(o.failed_with(sb::errc::guest_exception));
  BOOST_TEST(o.message.find("Maximum call stack size exceeded") != std::string::npos);
  BOOST_TEST(still_serves());
}

BOOST_AUTO_TEST_CASE(host_objects_cannot_be_polluted) {
  auto code = module(
      "export default (input, env) => { const r = [];"
      "  for (const f of [() => { env.cfg.x = 1 }, () => { env.cfg.__proto__.y = 1 }, () => { env.cfg.list.push(1) },"
      "                   () => { Object.setPrototypeOf(env, {}) }, () => { env.call.extra = 1 }, () => { console.log = null }])"
      "    try { f(); r.push('changed') } catch (e) { r.push(e.constructor.name) }"
      "  return r }");
  json::object cfg;
  cfg["list"] = json::array{1, 2};
  code.env["cfg"] = std::move(cfg);
  code.functions["call"] = [](json::array) -> cairn::task<json::value> { co_return nullptr; };
  auto o = run(std::move(code));
  BOOST_TEST_INFO(o.describe());
  BOOST_TEST(json::serialize(o.value) == R"(["TypeError","TypeError","TypeError","TypeError","TypeError","TypeError"])");
}

BOOST_AUTO_TEST_CASE(reentrant_host_calls_work) {
  // The host function calls back into the same cached worker while the
  // guest awaits it.
  auto result = rt.block_on([&]() -> cairn::task<std::string> {
    sb::pool* p = &pool;
    auto loader = [p]() -> cairn::task<sb::worker_code> {
      auto c = module("export default async (n, env) => n <= 0 ? 0 : 1 + await env.again(n - 1)");
      c.functions["again"] = [p](json::array args) -> cairn::task<json::value> {
        auto self_loader = []() -> cairn::task<sb::worker_code> { co_return module(""); };
        sb::worker w = co_await p->get("reentrant", self_loader);
        sb::call_result r = co_await w.call(args.at(0));
        co_return r.value;
      };
      co_return c;
    };
    sb::worker w = co_await pool.get("reentrant", loader);
    sb::call_result r = co_await w.call(5);
    co_return json::serialize(r.value);
  }());
  BOOST_TEST(result == "5");
}

BOOST_AUTO_TEST_CASE(host_calls_are_limited_in_number_and_bytes) {
  std::atomic<int> calls{0};
  auto counted = [&calls](json::array) -> cairn::task<json::value> {
    ++calls;
    co_return nullptr;
  };
  auto many = module("export default async (n, env) => { const p = []; for (let i = 0; i < n; i++) p.push(env.f()); "
                     "await Promise.all(p); return n; }");
  many.limits.max_host_calls = 100;
  many.functions["f"] = counted;
  auto o = run(std::move(many), 101);
  BOOST_TEST_INFO(o.describe());
  BOOST_TEST(o.failed_with(sb::errc::request_limit));
  BOOST_TEST(calls.load() <= 100);
  auto within = module("export default async (n, env) => { for (let i = 0; i < n; i++) await env.f(); return n; }");
  within.limits.max_host_calls = 100;
  within.functions["f"] = counted;
  BOOST_TEST(run(std::move(within), 100).ok);
  // Bytes: many calls with a big string add up past result_bytes.
  auto big = module("export default async (n, env) => { const s = 'x'.repeat(1 << 16); "
                    "for (let i = 0; i < n; i++) env.f(s); return n; }");
  big.limits.result_bytes = 1 << 20;
  big.functions["f"] = counted;
  BOOST_TEST(run(std::move(big), 64).failed_with(sb::errc::request_limit));
}

BOOST_AUTO_TEST_CASE(wall_time_and_promises_that_cannot_settle) {
  auto slow = module("export default async (i, env) => await env.slow()");
  slow.limits.wall = 100ms;
  slow.functions["slow"] = [](json::array) -> cairn::task<json::value> {
    co_await cairn::sleep_for(2s);
    co_return 1;
  };
  auto o = run(std::move(slow));
  BOOST_TEST_INFO(o.describe());
  BOOST_TEST(o.failed_with(sb::errc::wall_limit));
  BOOST_TEST(run("export default () => new Promise(() => {})").failed_with(sb::errc::never_settles));
  BOOST_TEST(still_serves());
}

BOOST_AUTO_TEST_CASE(a_cached_worker_that_hits_a_limit_is_reloaded) {
  int loads = 0;
  auto out = rt.block_on([&]() -> cairn::task<std::string> {
    auto loader = [&loads]() -> cairn::task<sb::worker_code> {
      ++loads;
      auto c = module("let n = 0; export default (spin) => { n++; if (spin) for (;;) {} return n }");
      c.limits.cpu = 50ms;
      co_return c;
    };
    std::string s;
    sb::worker w = co_await pool.get("spinner", loader);
    s += json::serialize((co_await w.call(false)).value);
    s += json::serialize((co_await w.call(false)).value);
    try {
      co_await w.call(true);
    } catch (const sb::error& e) {
      s += std::string(" ") + sb::to_string(e.code()) + " ";
    }
    s += json::serialize((co_await w.call(false)).value);  // a fresh instance: n restarts
    co_return s;
  }());
  BOOST_TEST(out == "12 cpu_limit 1");
  BOOST_TEST(loads == 2);
}

BOOST_AUTO_TEST_CASE(a_soak_of_mixed_runs_returns_memory) {
  const char* benign = "export default (n) => ({ n, s: JSON.stringify([n, new URL('https://a.b/' + n).pathname]) })";
  const char* hostile[] = {"export default () => { for (;;) {} }",
                           "export default () => { const a = []; for (;;) a.push([a.length]); }",
                           "export default () => new ArrayBuffer(1e9)", "export default () => eval('1')",
                           "export default () => { const f = () => f(); f() }"};
  auto soak = [&](int rounds) {
    int ok = 0;
    for (int i = 0; i < rounds; ++i) {
      const bool bad = i % 4 == 3;
      // Hostile runs get a tight CPU budget; benign ones room enough for a
      // sanitizer build (the first URL in a context loads whatwg-url).
      auto c = limited(bad ? hostile[(i / 4) % 5] : benign, bad ? 20ms : 2000ms, 32u << 20);
      c.tenant = bad ? "soak-hostile" : "soak";
      auto o = run(std::move(c), i);
      if (!bad && o.ok && o.value.at("n") == i) ++ok;
    }
    return ok;
  };
  BOOST_TEST(soak(200) == 150);  // warm up: isolates, code caches, allocator pools
  const std::size_t before = rss_bytes();
  BOOST_TEST(soak(2000) == 1500);
  const std::size_t after = rss_bytes();
  BOOST_TEST_MESSAGE("soak: RSS " << before / (1 << 20) << " MiB -> " << after / (1 << 20) << " MiB");
  BOOST_TEST(after < before + (96u << 20));
}

BOOST_AUTO_TEST_SUITE_END()
