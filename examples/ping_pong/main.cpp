// Two players rally: each exchange is a call to the other player and its
// reply. Played twice: against a player on the same shard (the call runs
// inline, no queue) and against one on another shard (through its queue).
#include <cairn/cairn.hpp>

#include <chrono>
#include <cstdio>
#include <string>

class player : public cairn::actor {
 public:
  int hit(int ball) {
    ++hits_;
    return ball + 1;
  }
  cairn::task<int> rally(cairn::actor_ref<player> opponent, int rounds) {
    int ball = 0;
    for (int i = 0; i < rounds; ++i) ball = co_await opponent.call(&player::hit, ball);
    co_return ball;
  }
  int hits() const { return hits_; }

 private:
  int hits_ = 0;
};

int main() {
  cairn::runtime rt;
  auto players = rt.register_namespace<player>("player");
  constexpr int rounds = 1'000'000;
  rt.run([&]() -> cairn::task<> {
    auto ping = players.get("ping");
    for (bool same_shard : {true, false}) {
      // Find an opponent whose id lands on the wanted shard.
      auto pong = players.get("pong");
      for (int i = 0; rt.shard_count() > 1 && (rt.shard_of(pong.id()) == rt.shard_of(ping.id())) != same_shard; ++i)
        pong = players.get("pong" + std::to_string(i));
      auto start = std::chrono::steady_clock::now();
      int ball = co_await ping.call(&player::rally, pong, rounds);
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      std::printf("ping_pong: ping (shard %u) vs pong (shard %u): %d returns in %.3f s, %.1f M calls/s; pong counted %d\n",
                  rt.shard_of(ping.id()), rt.shard_of(pong.id()), ball, took.count(), rounds / took.count() / 1e6,
                  co_await pong.call(&player::hits));
    }
  });
}
