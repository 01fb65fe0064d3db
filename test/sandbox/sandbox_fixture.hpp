#pragma once
// A runtime with a sandbox pool, and helpers that run guest code from a test.
// (Boost.Test's macros stay outside coroutines; GCC 12 mishandles braced
// temporaries inside co_await, so arguments are built first.)
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cairn/cairn.hpp>
#include <cairn/sandbox.hpp>

namespace sandbox_test {

using namespace std::chrono_literals;
namespace sb = cairn::sandbox;
namespace json = boost::json;

/// What a run came to: a value, or the error's code and message.
struct outcome {
  bool ok = false;
  json::value value;
  sb::errc code = sb::errc::guest_exception;
  std::string message;
  std::string stack;
  std::string console;

  [[nodiscard]] bool failed_with(sb::errc c) const { return !ok && code == c; }
  [[nodiscard]] std::string describe() const {
    return ok ? "ok " + json::serialize(value) : std::string("error ") + sb::to_string(code) + ": " + message;
  }
};

inline sb::worker_code module(std::string source) {
  sb::worker_code code;
  code.modules["main.js"] = std::move(source);
  code.main = "main.js";
  return code;
}

inline cairn::task<outcome> capture(std::function<cairn::task<sb::call_result>()> f) {
  outcome o;
  try {
    sb::call_result r = co_await f();
    o.ok = true;
    o.value = std::move(r.value);
    o.console = std::move(r.console);
  } catch (const sb::error& e) {
    o.code = e.code();
    o.message = e.what();
    o.stack = e.guest_stack();
    o.console = e.console();
  }
  co_return o;
}

struct pool_fixture {
  pool_fixture() : rt(options()), pool(rt, pool_opts()) {}
  ~pool_fixture() { rt.stop(); }

  static cairn::runtime_options options() {
    cairn::runtime_options o;
    o.shards = 2;
    return o;
  }
  static sb::pool_options pool_opts() {
    sb::pool_options o;
    o.threads = 2;
    return o;
  }

  /// pool.run(code, input) on a shard.
  outcome run(sb::worker_code code, json::value input = nullptr) {
    return rt.block_on(capture([&]() -> cairn::task<sb::call_result> {
      sb::worker_code c = std::move(code);
      json::value in = std::move(input);
      co_return co_await pool.run(std::move(c), std::move(in));
    }));
  }
  outcome run(std::string source, json::value input = nullptr) { return run(module(std::move(source)), std::move(input)); }

  /// A trivial run, to show the pool still serves after something hostile.
  bool still_serves() {
    auto o = run("export default (n) => n + 1", 41);
    return o.ok && o.value == 42;
  }

  cairn::runtime rt;
  sb::pool pool;
};

}  // namespace sandbox_test
