// Two players rally: each exchange is a call to the other player and its
// reply. Then the same with one-way sends, where the last hit ends the game.
#include <cairn/cairn.hpp>

#include <chrono>
#include <cstdio>

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
    auto ping = players.get("ping"), pong = players.get("pong");
    auto start = std::chrono::steady_clock::now();
    int ball = co_await ping.call(&player::rally, pong, rounds);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("ping_pong: ping hit the ball back %d times in %.3f s (%.1f M calls/s); pong counted %d hits\n", ball,
                took.count(), rounds / took.count() / 1e6, co_await pong.call(&player::hits));
    std::printf("ping_pong: ping lives on shard %u, pong on shard %u of %u\n",
                rt.shard_of(ping.id()), rt.shard_of(pong.id()), rt.shard_count());
  });
}
