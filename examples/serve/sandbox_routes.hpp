#pragma once
// Routes that run a fixed trivial module (`export default (n) => n + 1`)
// through the sandbox pool, one request per run: the cairn side of
// perf/sandbox_bench.sh, the same work as the workerd Worker Loader peer
// (perf/workerd_loader/). They run no code from the request.
//
//   GET /sandbox/load?n=K[&tenant=T]   a fresh worker per request: in a new
//                                      tenant (a new isolate), or in tenant
//                                      "bench:T" (never another program's tenant)
//   GET /sandbox/get?n=K[&id=X]        the cached worker X (default "bench")
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include <cairn/cairn.hpp>
#include <cairn/http/router.hpp>
#include <cairn/http/target.hpp>
#include <cairn/sandbox.hpp>

namespace examples {

inline cairn::sandbox::worker_code increment_module(std::string tenant) {
  cairn::sandbox::worker_code code;
  code.modules["main.js"] = "export default (n) => n + 1;\n";
  code.main = "main.js";
  code.tenant = std::move(tenant);
  return code;
}

inline std::optional<std::int64_t> n_of(const cairn::http::request& req) {
  const auto text = cairn::http::query_param(req.target(), "n");
  std::int64_t n = 0;
  if (!text) return std::nullopt;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || p != text->data() + text->size() || n < 0 || n > (std::int64_t{1} << 52)) return std::nullopt;
  return n;
}

inline cairn::task<cairn::http::response> answer(cairn::sandbox::worker w, std::int64_t n) {
  cairn::sandbox::call_result r = co_await w.call(n);
  co_return cairn::http::make_response(cairn::http::status::ok, std::to_string(r.value.as_int64()));
}

inline cairn::task<cairn::sandbox::worker_code> load_increment() { co_return increment_module({}); }

inline cairn::task<cairn::http::response> sandbox_load(cairn::sandbox::pool& pool, cairn::http::request req) {
  const auto n = n_of(req);
  if (!n) co_return cairn::http::make_response(cairn::http::status::bad_request, "?n= is a whole number\n");
  // Named before the co_await: GCC 12 mishandles temporaries built inside one.
  const auto tenant = cairn::http::query_param(req.target(), "tenant");
  cairn::sandbox::worker_code code = increment_module(tenant ? "bench:" + *tenant : std::string());
  cairn::sandbox::worker w = co_await pool.load(std::move(code));
  co_return co_await answer(std::move(w), *n);
}

inline cairn::task<cairn::http::response> sandbox_get(cairn::sandbox::pool& pool, cairn::http::request req) {
  const auto n = n_of(req);
  if (!n) co_return cairn::http::make_response(cairn::http::status::bad_request, "?n= is a whole number\n");
  std::string id = "bench:" + cairn::http::query_param(req.target(), "id").value_or("cached");
  cairn::sandbox::worker w = co_await pool.get(std::move(id), load_increment);
  co_return co_await answer(std::move(w), *n);
}

inline void add_sandbox_routes(cairn::runtime& rt, cairn::http::router& r) {
  auto* pool = &rt.service<cairn::sandbox::pool>();
  r.add("/sandbox/load", [pool](cairn::http::request req) { return sandbox_load(*pool, std::move(req)); });
  r.add("/sandbox/get", [pool](cairn::http::request req) { return sandbox_get(*pool, std::move(req)); });
}

}  // namespace examples
