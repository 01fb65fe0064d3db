// Runs the Savina micro-benchmarks on cairn and on CAF 0.17, alternating the
// two in one process, and prints a table of msgs/s and ratios (plus JSON).
//
//   perf/savina [--min-seconds S] [--threads N] [--json FILE] [--only NAME]
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cairn_savina.hpp"
#include "savina.hpp"

namespace {

struct benchmark {
  std::string name;
  std::function<savina::result(const savina::params&)> cairn, caf;
};

struct totals {
  std::uint64_t messages = 0;
  double seconds = 0;
  int runs = 0;
  [[nodiscard]] double rate() const { return seconds > 0 ? static_cast<double>(messages) / seconds : 0; }
  void add(const savina::result& r) {
    messages += r.messages;
    seconds += r.seconds;
    ++runs;
  }
};

}  // namespace

int main(int argc, char** argv) {
  savina::params p;
  double min_seconds = 0.5;
  std::string json_path = "savina.json", only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "savina: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--min-seconds") min_seconds = std::stod(next());
    else if (a == "--threads") p.threads = std::stoi(next());
    else if (a == "--json") json_path = next();
    else if (a == "--only") only = next();
    else {
      std::fprintf(stderr, "usage: %s [--min-seconds S] [--threads N] [--json FILE] [--only NAME]\n", argv[0]);
      return 2;
    }
  }

  namespace ca = savina::cairn_impl;
  namespace cf = savina::caf_impl;
  std::vector<benchmark> benchmarks = {
      {"pingpong (same shard)", ca::pingpong, cf::pingpong},
      {"pingpong (cross shard)", ca::pingpong_cross_shard, cf::pingpong},
      {"counting", ca::counting, cf::counting},
      {"thread ring", ca::thread_ring, cf::thread_ring},
      {"fork-join throughput", ca::fork_join_throughput, cf::fork_join_throughput},
      {"fork-join create", ca::fork_join_create, cf::fork_join_create},
      {"big", ca::big, cf::big},
      {"chameneos", ca::chameneos, cf::chameneos},
  };

  boost::json::object report;
  report["threads"] = p.threads;
  report["min_seconds"] = min_seconds;
  boost::json::array rows;

  std::printf("Savina micro-benchmarks, %d threads (cairn shards / CAF workers), >= %.2f s each side\n\n", p.threads,
              min_seconds);
  std::printf("%-24s %14s %14s %8s\n", "benchmark", "cairn msg/s", "CAF msg/s", "ratio");
  for (auto& b : benchmarks) {
    if (!only.empty() && b.name.find(only) == std::string::npos) continue;
    totals mine, theirs;
    // Alternate the two so drifts of the machine hit both alike.
    while (mine.seconds < min_seconds || theirs.seconds < min_seconds || mine.runs < 3 || theirs.runs < 3) {
      if (mine.seconds < min_seconds || mine.runs < 3) mine.add(b.cairn(p));
      if (theirs.seconds < min_seconds || theirs.runs < 3) theirs.add(b.caf(p));
    }
    double ratio = mine.rate() / theirs.rate();
    std::printf("%-24s %14.0f %14.0f %7.2fx\n", b.name.c_str(), mine.rate(), theirs.rate(), ratio);
    std::fflush(stdout);
    rows.push_back(boost::json::object{{"benchmark", b.name},
                                       {"cairn_msgs_per_s", mine.rate()},
                                       {"caf_msgs_per_s", theirs.rate()},
                                       {"ratio", ratio},
                                       {"cairn_runs", mine.runs},
                                       {"caf_runs", theirs.runs}});
  }
  report["benchmarks"] = rows;

  if (only.empty() || std::string("activation").find(only) != std::string::npos) {
    constexpr std::uint64_t n = 1'000'000;
    // Best of three: the first run also warms the allocator.
    ca::activation_result best;
    double best_rate = 0;
    for (int i = 0; i < 3; ++i) {
      auto r = ca::activations(n);
      if (r.resident / r.seconds > best_rate) {
        best_rate = r.resident / r.seconds;
        best = r;
      }
    }
    double cairn_bytes = static_cast<double>(best.heap_after - best.heap_before) / static_cast<double>(best.resident);
    double caf_bytes = static_cast<double>(cf::idle_actor_bytes(100'000));
    std::printf("\n%-40s %14.0f\n", "cairn activations/s (one shard)", best_rate);
    std::printf("%-40s %14.0f   (CAF: %.0f bytes, ratio %.2fx less)\n", "cairn bytes per idle resident actor",
                cairn_bytes, caf_bytes, caf_bytes / cairn_bytes);
    report["activations_per_s_per_shard"] = best_rate;
    report["cairn_idle_actor_bytes"] = cairn_bytes;
    report["caf_idle_actor_bytes"] = caf_bytes;
  }

  std::ofstream(json_path) << boost::json::serialize(report) << "\n";
  std::printf("\nwrote %s\n", json_path.c_str());
  return 0;
}
