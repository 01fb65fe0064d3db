// The child process of the crash test (crash_test.cpp).
//
//   crash_child DATA_DIR write FIRST_SEQ full|normal [LOG_SEGMENT_BYTES [IDLE_MS]]
//     Writes under load until it is killed: 16 concurrent loops call 8 writer
//     actors on 2 shards; after each call returns (so its writes were
//     committed) it prints "ack SEQ" on stdout. LOG_SEGMENT_BYTES sets the
//     commit log's segment size (runtime_options::commit_log_segment_bytes;
//     0: the default); IDLE_MS the idle timeout, so that writers hibernate
//     (and close their databases) between calls.
//   crash_child DATA_DIR verify
//     Prints one JSON line: for each writer, the sequence numbers found in
//     each of its places: {"w0": {"a": [...], "log": [...], "b": [...]}, ...}.
// An error that stops either prints "error: WHAT" and exits with status 4.
//
// Each write of an even SEQ puts "a/SEQ", inserts SEQ into the SQL table
// `log` and puts "b/SEQ" in ONE segment: after a crash, all three or none.
// An odd SEQ writes "a/SEQ" and the log row in a first segment and "b/SEQ"
// in a second one, after an await: "b" may only exist if the first did.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>

#include <cairn/cairn.hpp>
#include <cairn/sleep.hpp>
#include <cairn/storage.hpp>

namespace {

constexpr int writers = 8;
constexpr int loops = 16;

std::string key(char place, std::int64_t seq) { return std::string(1, place) + "/" + std::to_string(seq); }

class writer : public cairn::actor {
 public:
  cairn::task<std::int64_t> write(std::int64_t seq) {
    auto& s = storage();
    s.exec("CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY)");
    s.put(key('a', seq), seq);
    s.exec("INSERT INTO log(seq) VALUES (?)", seq);
    if (seq % 2 != 0) co_await cairn::sleep_for(std::chrono::microseconds(1));  // a second segment
    s.put(key('b', seq), seq);
    co_return seq;
  }

  boost::json::object dump() {
    boost::json::object out;
    for (char place : {'a', 'b'}) {
      boost::json::array seqs;
      cairn::list_options range;
      range.prefix = std::string(1, place) + "/";
      for (auto& [k, v] : storage().list(range)) seqs.push_back(v.json());
      out[std::string(1, place)] = std::move(seqs);
    }
    boost::json::array log;
    storage().exec("CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY)");
    for (auto& row : storage().exec("SELECT seq FROM log ORDER BY seq")) log.push_back(std::get<std::int64_t>(row[0]));
    out["log"] = std::move(log);
    return out;
  }
};

void print_line(const std::string& line) {
  // One write() per line: lines of different shards never interleave.
  std::string l = line + "\n";
  if (::write(STDOUT_FILENO, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::_Exit(3);
}

int usage() {
  std::fprintf(stderr, "usage: crash_child DATA_DIR write FIRST_SEQ full|normal [LOG_SEGMENT_BYTES [IDLE_MS]]\n       crash_child DATA_DIR verify\n");
  return 2;
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string mode = argv[2];
  cairn::runtime_options opts;
  opts.shards = 2;
  opts.data_dir = argv[1];
  if (mode == "write" && argc >= 5 && argc <= 7) {
    const std::string d = argv[4];
    if (d != "full" && d != "normal") return usage();
    opts.durability = d == "full" ? cairn::durability::full : cairn::durability::normal;
    if (argc >= 6 && std::strtoull(argv[5], nullptr, 10) != 0) opts.commit_log_segment_bytes = std::strtoull(argv[5], nullptr, 10);
    if (argc == 7) opts.idle_timeout = std::chrono::milliseconds(std::strtoull(argv[6], nullptr, 10));
  } else if (mode != "verify" || argc != 3) {
    return usage();
  }
  cairn::runtime rt(opts);
  auto ns = rt.register_namespace<writer>("writer");

  if (mode == "verify") {
    auto all = rt.run([&]() -> cairn::task<boost::json::object> {
      boost::json::object out;
      for (int w = 0; w < writers; ++w) {
        std::string name = "w" + std::to_string(w);
        out[name] = co_await ns.get(name).call(&writer::dump);
      }
      co_return out;
    });
    print_line(boost::json::serialize(all));
    return 0;
  }

  std::atomic<std::int64_t> next{std::strtoll(argv[3], nullptr, 10)};
  rt.run([&]() -> cairn::task<> {
    auto loop = [&]() -> cairn::task<> {
      for (;;) {
        std::int64_t seq = next++;
        auto ref = ns.get("w" + std::to_string((seq / 2) % writers));  // each writer gets both kinds
        std::int64_t got = co_await ref.call(&writer::write, seq);
        print_line("ack " + std::to_string(got));
      }
    };
    std::vector<cairn::task<>> all;
    for (int i = 0; i < loops; ++i) all.push_back(loop());
    co_await cairn::when_all(std::move(all));  // never returns: the parent kills us
  });
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // One line on stdout, for the test that reads it (a data directory in use).
    print_line(std::string("error: ") + e.what());
    return 4;
  }
}
