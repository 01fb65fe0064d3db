#include <cairn/cairn.hpp>

class greeter : public cairn::actor {
 public:
  int greet(int n) { return n + 1; }
};

int main() {
  cairn::runtime rt;
  auto greeters = rt.register_namespace<greeter>("greeter");
  int r = rt.run([&]() -> cairn::task<int> { co_return co_await greeters.get("g").call(&greeter::greet, 41); });
  return r == 42 ? 0 : 1;
}
