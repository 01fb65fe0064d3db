#pragma once
// A virtual user: a cairn actor that runs a closed loop against the target
// with the outbound client (cairn::fetch, connect_websocket) until the
// deadline, and reports what it saw.
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include <cairn/actor.hpp>
#include <cairn/http/fetch.hpp>
#include <cairn/http/websocket_client.hpp>
#include <cairn/sleep.hpp>
#include <cairn/task.hpp>

#include "latency.hpp"

namespace loadgen {

using clock = std::chrono::steady_clock;

struct plan {
  std::string url;
  cairn::http::verb method = cairn::http::verb::get;
  std::string body;
  boost::beast::http::fields headers;
  std::string message = "hello";  // WebSocket: what each message carries
  int in_flight = 1;              // WebSocket: messages outstanding per connection
  clock::time_point start;        // counting starts here (after the warm-up)
  clock::time_point end;
};

struct outcome {
  std::uint64_t ok = 0;      // 2xx responses, or echoed messages
  std::uint64_t non_2xx = 0;
  std::uint64_t errors = 0;  // failed requests or connections
  std::uint64_t bytes = 0;   // response bodies or messages received
  std::string first_error;
  latency_histogram latency;

  void merge(const outcome& o) {
    ok += o.ok;
    non_2xx += o.non_2xx;
    errors += o.errors;
    bytes += o.bytes;
    if (first_error.empty()) first_error = o.first_error;
    latency.merge(o.latency);
  }
  void failed(const std::exception& e) {
    ++errors;
    if (first_error.empty()) first_error = e.what();
  }
};

class virtual_user : public cairn::actor {
 public:
  /// Requests one after another on a kept connection until the end.
  cairn::task<outcome> http(plan p) {
    outcome out;
    cairn::http::fetch_options options;
    options.method = p.method;
    options.headers = p.headers;
    options.body = p.body;
    for (auto now = clock::now(); now < p.end; now = clock::now()) {
      const bool counted = now >= p.start;
      bool failed = false;
      try {
        auto res = co_await cairn::fetch(p.url, options);
        const std::string body = co_await res.text();
        if (!counted) continue;
        res.ok() ? ++out.ok : ++out.non_2xx;
        out.bytes += body.size();
        out.latency.add(clock::now() - now);
      } catch (const std::exception& e) {
        if (counted) out.failed(e);
        failed = true;
      }
      if (failed) co_await back_off();  // not in the handler: no await there
    }
    co_return out;
  }

  /// One connection with `in_flight` messages outstanding; each echo sends the next.
  cairn::task<outcome> websocket(plan p) {
    outcome out;
    try {
      auto ws = co_await cairn::http::connect_websocket(p.url);
      std::deque<clock::time_point> sent;
      for (int i = 0; i < p.in_flight; ++i) {
        co_await ws.send(p.message);
        sent.push_back(clock::now());
      }
      while (!sent.empty()) {
        auto m = co_await ws.receive();
        if (!m) throw std::runtime_error("the server closed the socket (" + std::to_string(ws.close_code()) + ")");
        const auto now = clock::now();
        if (sent.front() >= p.start) {
          ++out.ok;
          out.bytes += m->data.size();
          out.latency.add(now - sent.front());
        }
        sent.pop_front();
        if (now < p.end) {
          co_await ws.send(p.message);
          sent.push_back(clock::now());
        }
      }
      co_await ws.close();
    } catch (const std::exception& e) {
      out.failed(e);
    }
    co_return out;
  }

 private:
  // After a failure, do not spin: a refused connection fails in microseconds.
  static cairn::task<void> back_off() { co_await cairn::sleep_for(std::chrono::milliseconds(10)); }
};

}  // namespace loadgen
