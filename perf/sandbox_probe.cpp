// A probe, not yet a benchmark: one caller doing load-then-call of a trivial
// module in a loop, in a warm tenant and with a new tenant (a new isolate)
// each time. It has no peer yet (workerd's Worker Loader is the planned one),
// so its figures are for finding regressions, not for quoting as ratios.
//
//   ./build-bench/perf/sandbox_probe [runs]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <cairn/cairn.hpp>
#include <cairn/sandbox.hpp>

namespace {

cairn::task<int> loop(cairn::sandbox::pool& pool, int n, std::string tenant) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    cairn::sandbox::worker_code code;
    code.modules["main.js"] = "export default (n) => n + 1";
    code.main = "main.js";
    code.tenant = tenant;
    cairn::sandbox::call_result r = co_await pool.run(std::move(code), i);
    ok += r.value.as_int64() == i + 1;
  }
  co_return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 500;
  cairn::runtime rt;
  cairn::sandbox::pool_options options;
  options.threads = 2;
  cairn::sandbox::pool pool(rt, options);
  for (const std::string tenant : {std::string("warm"), std::string()}) {
    const int n = tenant.empty() ? std::max(1, runs / 10) : runs;
    const auto t0 = std::chrono::steady_clock::now();
    const int ok = rt.block_on(loop(pool, n, tenant));
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
    std::printf("%-12s %d/%d runs, %.0f us per load+call\n", tenant.empty() ? "new tenant" : "warm tenant", ok, n, us);
  }
  return 0;
}
