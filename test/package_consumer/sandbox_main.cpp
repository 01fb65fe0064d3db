// A user's program on the installed cairn::sandbox: one module through the pool.
#include <cairn/cairn.hpp>
#include <cairn/sandbox.hpp>

cairn::task<int> increment(cairn::sandbox::pool& pool) {
  cairn::sandbox::worker_code code;
  code.modules["main.js"] = "export default (n) => n + 1";
  code.main = "main.js";
  cairn::sandbox::call_result r = co_await pool.run(std::move(code), 41);
  co_return static_cast<int>(r.value.as_int64());
}

int main() {
  cairn::runtime rt;
  cairn::sandbox::pool pool(rt);
  const int r = rt.block_on(increment(pool));
  rt.stop();
  rt.run();
  return r == 42 ? 0 : 1;
}
