// Crash safety: a child process writes under load and acknowledges every
// write whose call returned; the test kills it with SIGKILL at a random
// point, starts it again to read everything back, and checks that every
// acknowledged write is there and that no segment is half applied. Repeated
// for 24 cycles on the same data, alternating full and normal durability,
// and in full durability alternating the commit log's default segments with
// 1 MiB ones (which fill, switch and retire under the load); every third
// cycle with a 1 ms idle timeout, so that writers hibernate between calls
// (their databases close, short WALs kept, and reopen);
// CAIRN_CRASH_CYCLES=N in the environment asks for more.
//
// A SIGKILL leaves the page cache, so it loses nothing the kernel was given.
// What a power cut would lose of the WAL files, the second test takes away by
// hand (each WAL file put back as it was before the writer started): the
// commit log alone then has to bring back every acknowledged write.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// One cycle: starts the writer, kills it after `kill_after` acknowledgements
// and a little more; every acknowledged seq goes into `acked`.
void write_and_kill(const std::string& dir, int cycle, const std::vector<std::string>& how, int kill_after,
                    std::chrono::microseconds extra, std::set<std::int64_t>& acked) {
  std::vector<std::string> args{CAIRN_CRASH_CHILD, dir, "write", std::to_string(std::int64_t{cycle} * 10'000'000)};
  args.insert(args.end(), how.begin(), how.end());
  cairn_test::child_process writer(args);
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

// Reads everything back in a new process; checks that no segment is half
// applied and that every acknowledged write is there. Returns how many
// complete writes it found.
std::size_t verify(const std::string& dir, int cycle, const std::set<std::int64_t>& acked) {
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
  return present.size();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash)

// A second process on a data directory in use (the writer's) is refused
// before it touches anything, with the owner's pid; once the owner is gone
// (killed: the kernel drops its lock) the directory opens again.
BOOST_AUTO_TEST_CASE(a_data_directory_in_use_by_another_process_is_refused) {
  cairn_test::temp_dir data;
  const std::string dir = data.path().string();
  cairn_test::child_process writer({CAIRN_CRASH_CHILD, dir, "write", "0", "full"});
  auto line = writer.read_line(30s);
  BOOST_REQUIRE(line && line->rfind("ack ", 0) == 0);
  {
    cairn_test::child_process second({CAIRN_CRASH_CHILD, dir, "verify"});
    auto said = second.read_line(30s);
    const int status = second.wait();
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 4));
    BOOST_TEST(said.value_or("") == "error: cairn: the data directory " + dir + " is in use by another runtime (process " +
                                        std::to_string(writer.pid()) + ")");
  }
  writer.kill();
  std::set<std::int64_t> none;
  BOOST_TEST(verify(dir, 0, none) > 0u);  // the writer's acknowledged writes are readable by the next owner
}

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
    std::vector<std::string> how{mode};
    if (cycle % 4 == 2) how.push_back(std::to_string(1 << 20));  // small segments: they switch and retire
    if (cycle % 3 == 1) {  // writers hibernate between calls: databases close (short WALs kept) and reopen
      if (how.size() == 1) how.push_back("0");
      how.push_back("1");
    }
    // Kill after this many acknowledgements, then a little later still, so
    // the kill lands anywhere in a commit, a reply or the next write.
    const int kill_after = std::uniform_int_distribution<int>(1, 400)(rng);
    const auto extra = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
    write_and_kill(dir, cycle, how, kill_after, extra, acked);
    const std::size_t present = verify(dir, cycle, acked);
    BOOST_TEST_MESSAGE("cycle " << cycle << " (" << mode << (cycle % 4 == 2 ? ", 1 MiB segments" : "") << (cycle % 3 == 1 ? ", hibernating" : "") << "): "
                                << acked.size() << " acknowledged, " << present << " complete writes present");
  }
  BOOST_TEST(acked.size() >= static_cast<std::size_t>(cycles));  // at least one acknowledged write per cycle
}

// Full durability, and after each kill every WAL file put back as it was
// before the writer started (emptied if it is new), as if none of its writes
// since then had reached the disk (what it held before was made durable by
// the previous run's clean stop): the writer's commit log (its segment 0
// only: nothing retired, so it holds every WAL write of the run) must bring
// back every acknowledged write, and replay must leave no database half
// applied. Without the replay the first cycle loses its writes.
BOOST_AUTO_TEST_CASE(acknowledged_writes_survive_the_loss_of_every_wal_write_through_the_commit_log) {
  namespace fs = std::filesystem;
  cairn_test::temp_dir data;
  const std::string dir = data.path().string();
  std::random_device rd;
  const unsigned seed = rd();
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937 rng(seed);
  std::set<std::int64_t> acked;
  auto wal_files = [&] {
    std::map<fs::path, std::string> out;
    for (auto& e : fs::recursive_directory_iterator(data.path()))
      if (e.is_regular_file() && e.path().string().ends_with(".sqlite-wal")) {
        std::ifstream in(e.path(), std::ios::binary);
        out[e.path()] = std::string(std::istreambuf_iterator<char>(in), {});
      }
    return out;
  };
  for (int cycle = 0; cycle < 6; ++cycle) {
    const auto before = wal_files();
    const int kill_after = std::uniform_int_distribution<int>(1, 300)(rng);
    const auto extra = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
    write_and_kill(dir, cycle, {"full"}, kill_after, extra, acked);
    BOOST_REQUIRE_MESSAGE(!fs::exists(data.path() / ".cairn-log.1"), "the run filled a segment: the test needs a bigger one");
    std::size_t undone = 0;
    for (auto& [path, bytes] : wal_files()) {
      auto it = before.find(path);
      const std::string& old = it == before.end() ? std::string() : it->second;
      if (bytes == old) continue;
      std::ofstream(path, std::ios::binary | std::ios::trunc).write(old.data(), static_cast<std::streamsize>(old.size()));
      ++undone;
    }
    BOOST_REQUIRE(undone > 0);
    const std::size_t present = verify(dir, cycle, acked);
    BOOST_TEST_MESSAGE("cycle " << cycle << ": " << undone << " WAL files put back, " << acked.size()
                                << " acknowledged, " << present << " complete writes present");
  }
}

BOOST_AUTO_TEST_SUITE_END()
