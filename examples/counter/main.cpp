// A durable counter: one instance per name, its handlers run one at a time,
// and its value lives in the actor's own SQLite database. Run it twice with
// the same data directory: the second run continues where the first ended.
//
//   example_counter [DATA_DIR]     (default: ./cairn-data)
#include <cairn/cairn.hpp>
#include <cairn/storage.hpp>

#include <cstdio>
#include <vector>

class counter : public cairn::actor {
 public:
  // The write commits before the reply leaves the actor, so a caller never
  // sees a value that a crash could take back.
  std::int64_t add(std::int64_t n) {
    auto value = storage().get_as<std::int64_t>("value").value_or(0) + n;
    storage().put("value", value);
    return value;
  }
  std::int64_t get() { return storage().get_as<std::int64_t>("value").value_or(0); }
};

int main(int argc, char** argv) {
  cairn::runtime_options options;
  options.data_dir = argc > 1 ? argv[1] : "cairn-data";  // durability::full: fsync per group commit
  cairn::runtime rt(options);
  auto counters = rt.register_namespace<counter>("counter");

  auto [before, after] = rt.run([&]() -> cairn::task<std::pair<std::int64_t, std::int64_t>> {
    auto apples = counters.get("apples");
    std::int64_t start = co_await apples.call(&counter::get);
    // 1000 concurrent calls; the writes of the calls that ran in one pass of
    // the actor's shard share one commit (group commit).
    std::vector<cairn::task<std::int64_t>> calls;
    for (int i = 0; i < 1000; ++i) calls.push_back(cairn::as_task(apples.call(&counter::add, 1)));
    co_await cairn::when_all(std::move(calls));
    co_return std::pair{start, co_await apples.call(&counter::get)};
  });
  std::printf("counter: apples was %lld, 1000 concurrent add(1) calls -> %lld (data in %s; run again to continue)\n",
              static_cast<long long>(before), static_cast<long long>(after), options.data_dir.c_str());
  return after == before + 1000 ? 0 : 1;
}
