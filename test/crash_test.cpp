// Crash safety: a child process writes under load and acknowledges every
// write whose call returned; the test kills it with SIGKILL at a random
// point, starts it again to read everything back, and checks that every
// acknowledged write is there and that no segment is half applied. Repeated
// for 24 cycles on the same data, alternating full and normal durability;
// CAIRN_CRASH_CYCLES=N in the environment asks for more.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <boost/json/parse.hpp>

#include "child_process.hpp"
#include "support.hpp"

#ifndef CAIRN_CRASH_CHILD
#error "CAIRN_CRASH_CHILD must name the crash_child executable"
#endif

namespace {

using namespace std::chrono_literals;

std::set<std::int64_t> seqs(const boost::json::value& v) {
  std::set<std::int64_t> out;
  for (auto& s : v.as_array()) out.insert(s.to_number<std::int64_t>());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash)

BOOST_AUTO_TEST_CASE(sigkill_under_write_load_loses_no_acknowledged_write_and_no_half_segment) {
  cairn_test::temp_dir data;
  const std::string dir = data.path().string();
  std::random_device rd;
  const unsigned seed = rd();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 rng(seed);

  std::set<std::int64_t> acked;  // over all cycles
  const char* more = std::getenv("CAIRN_CRASH_CYCLES");
  const int cycles = more ? std::max(1, std::atoi(more)) : 24;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const std::string mode = cycle % 2 == 0 ? "full" : "normal";
    // Kill after this many acknowledgements, then a little later still, so
    // the kill lands anywhere in a commit, a reply or the next write.
    const int kill_after = std::uniform_int_distribution<int>(1, 400)(rng);
    const auto extra = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
    {
      cairn_test::child_process writer(
          {CAIRN_CRASH_CHILD, dir, "write", std::to_string(std::int64_t{cycle} * 10'000'000), mode});
      for (int n = 0; n < kill_after; ++n) {
        auto line = writer.read_line(30s);
        BOOST_REQUIRE_MESSAGE(line && line->rfind("ack ", 0) == 0, "cycle " << cycle << ": unexpected output");
        acked.insert(std::stoll(line->substr(4)));
      }
      std::this_thread::sleep_for(extra);
      writer.kill();
      // Acknowledgements already in the pipe were sent before the kill.
      while (auto line = writer.read_line(30s)) {
        if (line->rfind("ack ", 0) == 0) acked.insert(std::stoll(line->substr(4)));
      }
    }

    cairn_test::child_process reader({CAIRN_CRASH_CHILD, dir, "verify"});
    auto line = reader.read_line(60s);
    BOOST_REQUIRE_MESSAGE(line, "cycle " << cycle << ": the verifier printed nothing");
    int status = reader.wait();
    BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cycle " << cycle << ": verifier failed");

    std::set<std::int64_t> present;
    auto all = boost::json::parse(*line).as_object();
    BOOST_REQUIRE_EQUAL(all.size(), 8u);
    for (auto& [name, places] : all) {
      auto a = seqs(places.at("a"));
      auto log = seqs(places.at("log"));
      auto b = seqs(places.at("b"));
      // a and the log row are written in one segment: both or neither.
      BOOST_REQUIRE_MESSAGE(a == log, "cycle " << cycle << ", " << name << ": a and log differ (half a segment)");
      for (auto s : b) {
        // b of an even seq shares the segment of a; of an odd one it comes
        // in a later segment: never without a.
        BOOST_REQUIRE_MESSAGE(a.contains(s), "cycle " << cycle << ", " << name << ": b/" << s << " without a/" << s);
      }
      for (auto s : a)
        if (s % 2 == 0)
          BOOST_REQUIRE_MESSAGE(b.contains(s), "cycle " << cycle << ", " << name << ": a/" << s << " without b/" << s);
      present.insert(b.begin(), b.end());
    }
    for (auto s : acked) BOOST_REQUIRE_MESSAGE(present.contains(s), "cycle " << cycle << ": acknowledged write " << s << " lost");
    BOOST_TEST_MESSAGE("cycle " << cycle << " (" << mode << "): " << acked.size() << " acknowledged, "
                                << present.size() << " complete writes present");
  }
  BOOST_TEST(acked.size() >= static_cast<std::size_t>(cycles));  // at least one acknowledged write per cycle
}

BOOST_AUTO_TEST_SUITE_END()
