// A counter actor: one instance per name, its handlers run one at a time, so
// its state needs no locks however many callers there are.
#include <cairn/cairn.hpp>

#include <cstdio>
#include <vector>

class counter : public cairn::actor {
 public:
  int add(int n) { return value_ += n; }
  int get() const { return value_; }

 private:
  int value_ = 0;
};

int main() {
  cairn::runtime rt;
  auto counters = rt.register_namespace<counter>("counter");

  int total = rt.run([&]() -> cairn::task<int> {
    auto apples = counters.get("apples");
    // 1000 concurrent calls from this task; each is a message to one actor.
    std::vector<cairn::task<int>> calls;
    for (int i = 0; i < 1000; ++i) calls.push_back(cairn::as_task(apples.call(&counter::add, 1)));
    co_await cairn::when_all(std::move(calls));
    co_await counters.get("pears").call(&counter::add, 7);
    std::printf("counter: apples id %s\n", apples.id().to_string().c_str());
    co_return co_await apples.call(&counter::get);
  });
  std::printf("counter: 1000 concurrent add(1) calls -> apples = %d (on %u shards)\n", total, rt.shard_count());
  return total == 1000 ? 0 : 1;
}
