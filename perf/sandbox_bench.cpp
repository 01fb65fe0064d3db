// The sandbox pool in-process: latency and rates of fresh and cached workers
// running a trivial module (`export default (n) => n + 1`), and the memory of
// idle cached workers. Half of perf/sandbox_bench.sh, which adds the HTTP
// comparison with workerd's Worker Loader; these figures have no peer (an
// in-process workerd does not exist), so they are read against the issue's
// absolute targets.
//
//   perf/sandbox_bench [--seconds S] [--callers C] [--threads T] [--shards N] [--idle-spin-us US] [--only ROW] [--no-wasm] [--json FILE]
//
// Rows:
//   warm_load_latency   one caller, load+call of a fresh worker in a warm tenant (its
//                       isolate exists, each worker gets a new context): p50 and p99
//   warm_load_rate      C callers over N shards doing the same: fresh workers per second
//   new_tenant_rate     C callers, each worker in a new tenant (a new isolate)
//   cached_call_rate    C callers, pool.get(id) + call of one cached worker
//   idle_worker_memory  RSS growth per cached idle worker: 1000 workers of distinct
//                       tenants (an isolate each), and 1000 workers of one tenant
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include <cairn/cairn.hpp>
#include <cairn/sandbox.hpp>

namespace {

using clock_type = std::chrono::steady_clock;
namespace sb = cairn::sandbox;

struct settings {
  double seconds = 3;
  unsigned callers = 8;
  unsigned threads = 2;
  unsigned shards = 2;
  long idle_spin_us = -1;  // runtime default
  std::string only;        // rows to run, separated by commas (default all)
  bool webassembly = true; // --no-wasm: pool_options::webassembly = false
  std::string json;
};

sb::worker_code increment(std::string tenant) {
  sb::worker_code code;
  code.modules["main.js"] = "export default (n) => n + 1;\n";
  code.main = "main.js";
  code.tenant = std::move(tenant);
  return code;
}

cairn::task<sb::worker_code> load_increment() { co_return increment({}); }

enum class mode { warm_load, new_tenant, cached_call };

// One caller's closed loop until `until`; appends each run's latency in us.
cairn::task<void> caller(sb::pool& pool, mode m, clock_type::time_point until, std::vector<double>& lat,
                         std::atomic<long>& errors) {
  for (std::int64_t i = 0; clock_type::now() < until; ++i) {
    const auto t0 = clock_type::now();
    try {
      sb::call_result r;
      if (m == mode::cached_call) {
        sb::worker w = co_await pool.get("bench", load_increment);
        r = co_await w.call(i);
      } else {
        sb::worker_code code = increment(m == mode::warm_load ? "warm" : "");
        r = co_await pool.run(std::move(code), i);
      }
      if (r.value.as_int64() != i + 1) ++errors;
    } catch (const std::exception& e) {
      if (errors++ == 0) std::fprintf(stderr, "sandbox_bench: %s\n", e.what());
    }
    lat.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
}

struct result {
  double rate = 0, p50 = 0, p99 = 0;
  long errors = 0;
};

result measure(cairn::runtime& rt, sb::pool& pool, mode m, unsigned callers, double seconds) {
  // A short warm-up so the first isolate and the code caches exist.
  {
    std::vector<double> ignored;
    std::atomic<long> e{0};
    rt.block_on(caller(pool, m, clock_type::now() + std::chrono::milliseconds(200), ignored, e));
  }
  std::vector<std::vector<double>> lat(callers);
  std::atomic<long> errors{0};
  std::atomic<unsigned> left{callers};
  std::promise<void> all_done;
  const auto t0 = clock_type::now();
  const auto until = t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
  for (unsigned c = 0; c < callers; ++c)
    rt.spawn(
        [](sb::pool& pool, mode m, clock_type::time_point until, std::vector<double>& lat, std::atomic<long>& errors,
           std::atomic<unsigned>& left, std::promise<void>& done) -> cairn::task<void> {
          co_await caller(pool, m, until, lat, errors);
          if (--left == 0) done.set_value();
        }(pool, m, until, lat[c], errors, left, all_done),
        c % rt.shard_count());
  all_done.get_future().wait();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  result r;
  r.rate = static_cast<double>(all.size()) / elapsed;
  r.p50 = all.empty() ? 0 : all[all.size() / 2];
  r.p99 = all.empty() ? 0 : all[std::min(all.size() - 1, all.size() * 99 / 100)];
  r.errors = errors.load();
  return r;
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  return 0;
}

cairn::task<void> cache_workers(sb::pool& pool, int from, int n, bool one_tenant, std::vector<sb::worker>& keep) {
  for (int i = from; i < from + n; ++i) {
    const std::string id = (one_tenant ? "shared-" : "own-") + std::to_string(i);
    sb::pool::loader load = one_tenant ? sb::pool::loader([]() -> cairn::task<sb::worker_code> {
      co_return increment("one-tenant");
    })
                                       : sb::pool::loader(load_increment);
    sb::worker w = co_await pool.get(id, load);
    sb::call_result r = co_await w.call(i);  // used once, then idle
    if (r.value.as_int64() != i + 1) throw std::runtime_error("wrong result");
    keep.push_back(std::move(w));
  }
}

// KiB of RSS per cached idle worker over `n` workers, in a pool of its own
// whose cache budget holds them all (none is dropped while measuring).
double idle_worker_kib(cairn::runtime& rt, unsigned threads, bool webassembly, bool one_tenant, int n) {
  sb::pool_options po;
  po.threads = threads;
  po.webassembly = webassembly;
  po.cache_bytes = std::size_t{64} << 30;
  po.warm_isolates = 0;
  sb::pool pool(rt, po);
  std::vector<sb::worker> keep;
  rt.block_on(cache_workers(pool, 0, 20, one_tenant, keep));  // the first isolates and caches
  const long before = rss_kib();
  rt.block_on(cache_workers(pool, 20, n, one_tenant, keep));
  const long after = rss_kib();
  if (pool.stats().cached_workers != keep.size())
    std::fprintf(stderr, "sandbox_bench: %zu of %zu workers stayed cached\n", pool.stats().cached_workers, keep.size());
  return static_cast<double>(after - before) / n;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sandbox_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seconds") s.seconds = std::atof(next().c_str());
    else if (a == "--callers") s.callers = static_cast<unsigned>(std::atoi(next().c_str()));
    else if (a == "--threads") s.threads = static_cast<unsigned>(std::atoi(next().c_str()));
    else if (a == "--shards") s.shards = static_cast<unsigned>(std::atoi(next().c_str()));
    else if (a == "--idle-spin-us") s.idle_spin_us = std::atol(next().c_str());
    else if (a == "--json") s.json = next();
    else if (a == "--only") s.only = next();
    else if (a == "--no-wasm") s.webassembly = false;
    else {
      std::fprintf(stderr, "usage: sandbox_bench [--seconds S] [--callers C] [--threads T] [--shards N] [--idle-spin-us US] [--only ROW] [--no-wasm] [--json FILE]\n");
      return 2;
    }
  }
  cairn::runtime_options ro;
  ro.shards = s.shards;
  ro.durability = cairn::durability::memory;
  if (s.idle_spin_us >= 0) ro.idle_spin = std::chrono::microseconds(s.idle_spin_us);
  cairn::runtime rt(ro);
  sb::pool_options po;
  po.threads = s.threads;
  po.webassembly = s.webassembly;
  sb::pool pool(rt, po);
  rt.start();

  boost::json::object out;
  // --only takes one row or several separated by commas.
  auto wanted = [&](const char* name) {
    return s.only.empty() || ("," + s.only + ",").find("," + std::string(name) + ",") != std::string::npos;
  };
  auto row = [&](const char* name, const result& r, const char* unit) {
    std::printf("%-20s %10.0f %-10s p50 %7.0f us  p99 %7.0f us  errors %ld\n", name, r.rate, unit, r.p50, r.p99, r.errors);
    std::fflush(stdout);
    out[name] = {{"rate", r.rate}, {"p50_us", r.p50}, {"p99_us", r.p99}, {"errors", r.errors}};
  };
  std::printf("sandbox_bench: %u pool threads, %u shards, %u callers, %.1f s per row, WebAssembly %s\n", s.threads,
              s.shards, s.callers, s.seconds, s.webassembly ? "grantable" : "off");
  if (wanted("warm_load_latency"))
    row("warm_load_latency", measure(rt, pool, mode::warm_load, 1, s.seconds), "runs/s");
  if (wanted("warm_load_rate"))
    row("warm_load_rate", measure(rt, pool, mode::warm_load, s.callers, s.seconds), "runs/s");
  if (wanted("new_tenant_rate"))
    row("new_tenant_rate", measure(rt, pool, mode::new_tenant, s.callers, s.seconds), "runs/s");
  if (wanted("cached_call_rate"))
    row("cached_call_rate", measure(rt, pool, mode::cached_call, s.callers, s.seconds), "calls/s");
  if (wanted("idle_worker_memory")) {
    const double own = idle_worker_kib(rt, s.threads, s.webassembly, false, 1000);
    const double shared = idle_worker_kib(rt, s.threads, s.webassembly, true, 1000);
    std::printf("%-20s %10.0f KiB per worker, own tenant (an isolate each)\n", "idle_worker_memory", own);
    std::printf("%-20s %10.0f KiB per worker, one tenant (a context each)\n", "", shared);
    out["idle_worker_kib_own_tenant"] = own;
    out["idle_worker_kib_one_tenant"] = shared;
  }
  if (!s.json.empty()) std::ofstream(s.json) << boost::json::serialize(out) << "\n";
  rt.stop();
  rt.run();
  return 0;
}
