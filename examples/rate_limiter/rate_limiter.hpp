#pragma once
// A native rate limiter that JavaScript actors call by method name: one
// token bucket per id (5 tokens, one more every 200 ms). examples/js_chat
// asks it before every message.
//
//   const v = await env.LIMITER.getByName(user).take(1);   // {ok, left, retry_in_ms}
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include <boost/json/object.hpp>

#include <cairn/actor.hpp>
#include <cairn/http/message.hpp>
#include <cairn/rpc.hpp>

namespace examples {

class rate_limiter : public cairn::actor {
 public:
  static constexpr double capacity = 5;
  static constexpr std::chrono::milliseconds refill_every{200};

  boost::json::object take(std::int64_t cost) {
    refill();
    boost::json::object out;
    if (cost < 0 || static_cast<double>(cost) > tokens_) {
      const double missing = static_cast<double>(cost) - tokens_;
      out["ok"] = false;
      out["retry_in_ms"] = static_cast<std::int64_t>(missing * static_cast<double>(refill_every.count()));
    } else {
      tokens_ -= static_cast<double>(cost);
      out["ok"] = true;
      out["retry_in_ms"] = 0;
    }
    out["left"] = static_cast<std::int64_t>(tokens_);
    return out;
  }

  /// GET /limiter/<id>: how many tokens are left (HTTP, for a look from outside).
  cairn::task<cairn::http::response> fetch(cairn::http::request) {
    refill();
    co_return cairn::http::make_response(cairn::http::status::ok,
                                         "{\"left\":" + std::to_string(static_cast<std::int64_t>(tokens_)) + "}",
                                         "application/json");
  }

  static constexpr auto rpc = cairn::rpc_methods(cairn::rpc_method<&rate_limiter::take>("take"));

 private:
  void refill() {
    const auto now = std::chrono::steady_clock::now();
    const double earned = std::chrono::duration<double>(now - last_) / refill_every;
    tokens_ = std::min(capacity, tokens_ + earned);
    last_ = now;
  }
  double tokens_ = capacity;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace examples
