// cairn-loadgen: an HTTP and WebSocket load generator whose virtual users are
// cairn actors using the outbound client. See README.md ("Load generator").
//
//   cairn-loadgen http http://127.0.0.1:8080/hello/bench --users 64 --seconds 5
//   cairn-loadgen ws ws://127.0.0.1:8080/echo/c --users 64 --in-flight 16
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cairn/cairn.hpp>

#include "virtual_user.hpp"

namespace {

struct settings {
  bool websocket = false;
  loadgen::plan plan;
  int users = 64;
  double seconds = 5;
  double warmup = 1;
  unsigned shards = 0;
  long idle_spin_us = 0;
  bool json = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "cairn-loadgen: " << why << "\n"
            << "usage: cairn-loadgen http|ws URL [--users N] [--seconds S] [--warmup S] [--shards N] [--idle-spin-us US]\n"
            << "         [--method M] [--body TEXT] [--header 'Name: value']...   (http)\n"
            << "         [--in-flight W] [--message TEXT]                         (ws)\n"
            << "         [--json]\n";
  std::exit(2);
}

double positive(std::string_view flag, const std::string& v, bool allow_zero = false) {
  try {
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size() && (d > 0 || (allow_zero && d == 0)) && d < 1e7) return d;
  } catch (const std::exception&) {
  }
  usage(std::string(flag) + " wants a positive number, not '" + v + "'");
}

settings parse(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 2) usage("a mode (http or ws) and a URL are needed");
  settings s;
  if (args[0] == "ws") s.websocket = true;
  else if (args[0] != "http") usage("unknown mode '" + args[0] + "'");
  s.plan.url = args[1];
  const auto scheme_ok = [&](std::string_view a, std::string_view b) {
    return s.plan.url.starts_with(a) || s.plan.url.starts_with(b);
  };
  if (!(s.websocket ? scheme_ok("ws://", "wss://") : scheme_ok("http://", "https://")))
    usage("the URL must start with " + std::string(s.websocket ? "ws:// or wss://" : "http:// or https://"));
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      s.json = true;
      continue;
    }
    if (i + 1 >= args.size()) usage(a + " needs a value");
    const std::string& v = args[++i];
    if (a == "--users") s.users = static_cast<int>(positive(a, v));
    else if (a == "--seconds") s.seconds = positive(a, v);
    else if (a == "--warmup") s.warmup = positive(a, v, true);
    else if (a == "--shards") s.shards = static_cast<unsigned>(positive(a, v));
    else if (a == "--idle-spin-us") s.idle_spin_us = static_cast<long>(positive(a, v, true));
    else if (a == "--in-flight") s.plan.in_flight = static_cast<int>(positive(a, v));
    else if (a == "--message") s.plan.message = v;
    else if (a == "--body") s.plan.body = v;
    else if (a == "--method") {
      s.plan.method = boost::beast::http::string_to_verb(v);
      if (s.plan.method == boost::beast::http::verb::unknown) usage("unknown method '" + v + "'");
    } else if (a == "--header") {
      const auto colon = v.find(':');
      if (colon == std::string::npos || colon == 0) usage("--header wants 'Name: value'");
      const auto value = v.find_first_not_of(' ', colon + 1);
      s.plan.headers.set(v.substr(0, colon), value == std::string::npos ? std::string() : v.substr(value));
    } else {
      usage("unknown flag " + a);
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  settings s = parse(argc, argv);
  cairn::runtime_options options;
  if (s.shards) options.shards = s.shards;
  options.durability = cairn::durability::memory;  // virtual users keep nothing
  // A load generator shares the machine with what it measures: an idle shard
  // sleeps at once instead of polling, leaving the cores to the server.
  options.idle_spin = std::chrono::microseconds(s.idle_spin_us);
  cairn::runtime rt(options);
  auto users = rt.register_namespace<loadgen::virtual_user>("user");

  const auto seconds = [](double d) {
    return std::chrono::duration_cast<loadgen::clock::duration>(std::chrono::duration<double>(d));
  };
  s.plan.start = loadgen::clock::now() + seconds(s.warmup);
  s.plan.end = s.plan.start + seconds(s.seconds);

  loadgen::outcome total;
  try {
    total = rt.run([&]() -> cairn::task<loadgen::outcome> {
      std::vector<cairn::task<loadgen::outcome>> runs;
      for (int i = 0; i < s.users; ++i) {
        auto u = users.get("user-" + std::to_string(i));
        runs.push_back(s.websocket ? cairn::as_task(u.call(&loadgen::virtual_user::websocket, s.plan))
                                   : cairn::as_task(u.call(&loadgen::virtual_user::http, s.plan)));
      }
      loadgen::outcome all;
      for (auto& o : co_await cairn::when_all(std::move(runs))) all.merge(o);
      co_return all;
    });
  } catch (const std::exception& e) {
    std::cerr << "cairn-loadgen: " << e.what() << "\n";
    return 1;
  }

  const double rate = static_cast<double>(total.ok + total.non_2xx) / s.seconds;
  const auto& l = total.latency;
  if (s.json) {
    boost::json::object o{{"mode", s.websocket ? "ws" : "http"}, {"url", s.plan.url}, {"users", s.users},
                          {"seconds", s.seconds}, {"per_s", rate}, {"ok", total.ok}, {"non_2xx", total.non_2xx},
                          {"errors", total.errors}, {"bytes", total.bytes},
                          {"latency_us", {{"p50", l.quantile_us(0.5)}, {"p90", l.quantile_us(0.9)},
                                          {"p99", l.quantile_us(0.99)}, {"max", l.max_us()}}}};
    if (!total.first_error.empty()) o["first_error"] = total.first_error;
    std::cout << boost::json::serialize(o) << "\n";
  } else {
    std::printf("%s %s: %d users on %u shards, %.1f s (after %.1f s warm-up)\n", s.websocket ? "ws" : "http",
                s.plan.url.c_str(), s.users, rt.core().shard_count(), s.seconds, s.warmup);
    std::printf("%s/s %.0f\n", s.websocket ? "messages" : "requests", rate);
    std::printf("ok %llu, non-2xx %llu, errors %llu, %llu bytes received\n",
                static_cast<unsigned long long>(total.ok), static_cast<unsigned long long>(total.non_2xx),
                static_cast<unsigned long long>(total.errors), static_cast<unsigned long long>(total.bytes));
    std::printf("latency us: p50 %llu p90 %llu p99 %llu max %llu\n",
                static_cast<unsigned long long>(l.quantile_us(0.5)), static_cast<unsigned long long>(l.quantile_us(0.9)),
                static_cast<unsigned long long>(l.quantile_us(0.99)), static_cast<unsigned long long>(l.max_us()));
    if (!total.first_error.empty()) std::printf("first error: %s\n", total.first_error.c_str());
  }
  return total.errors == 0 && total.non_2xx == 0 ? 0 : 1;
}
