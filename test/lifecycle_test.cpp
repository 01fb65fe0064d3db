#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include <cairn/cairn.hpp>

#include "support.hpp"

namespace {

using cairn_test::shards;

std::atomic<int> finished_turns{0};

class worker : public cairn::actor {
 public:
  cairn::task<void> work(cairn::actor_ref<worker> next, int hops) {
    co_await cairn::sleep_for(std::chrono::milliseconds(20));
    if (hops > 0) next.send(&worker::work, cairn::actor_ref<worker>(id()), hops - 1);
    ++finished_turns;
  }
};

struct greeting {
  std::string text;
};

// Reaches an object the program provided to the runtime.
class greeter : public cairn::actor {
 public:
  std::string greet(std::string who) { return runtime().service<greeting>().text + ", " + who; }
};

cairn::task<std::string> greet(cairn::actor_ref<greeter> g, std::string who) {
  co_return co_await g.call(&greeter::greet, std::move(who));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lifecycle)

BOOST_AUTO_TEST_CASE(stop_finishes_turns_in_flight) {
  finished_turns = 0;
  cairn::runtime rt(shards(2));
  auto workers = rt.register_namespace<worker>("worker");
  rt.start();
  // 100 sleeping turns, each sending one more message after it wakes.
  for (int i = 0; i < 100; ++i)
    workers.get("w" + std::to_string(i)).send(&worker::work, workers.get("w" + std::to_string(i + 1)), 1);
  rt.stop();  // while they sleep
  rt.run();   // returns once everything in flight has drained
  BOOST_TEST(finished_turns.load() == 200);
  BOOST_CHECK_THROW(workers.get("x").send(&worker::work, workers.get("y"), 0), cairn::runtime_stopped);
}

BOOST_AUTO_TEST_CASE(stop_from_inside_a_handler) {
  cairn::runtime rt(shards(2));
  auto start = std::chrono::steady_clock::now();
  rt.spawn([](cairn::runtime& rt) -> cairn::task<void> {
    co_await cairn::sleep_for(std::chrono::milliseconds(5));
    rt.stop();
  }(rt), 1);
  rt.run();
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(5)));
}

BOOST_AUTO_TEST_CASE(signals_stop_the_runtime) {
  cairn::runtime rt(shards(2));
  rt.stop_on_signals();
  rt.start();
  std::raise(SIGTERM);
  rt.run();  // returns only because the signal called stop()
  BOOST_CHECK_THROW(rt.spawn([]() -> cairn::task<void> { co_return; }()), cairn::runtime_stopped);
}

#if !defined(__SANITIZE_ADDRESS__)
// A turn that never finishes is abandoned after the drain timeout (its frame
// is leaked on purpose, hence not under the leak checker).
BOOST_AUTO_TEST_CASE(drain_timeout_bounds_a_stop) {
  auto o = shards(2);
  o.drain_timeout = std::chrono::milliseconds(100);
  cairn::runtime rt(o);
  rt.spawn([]() -> cairn::task<void> { co_await cairn::sleep_for(std::chrono::hours(1)); }(), 0);
  auto start = std::chrono::steady_clock::now();
  rt.start();
  rt.stop();
  rt.run();
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(5)));
}
#endif

BOOST_AUTO_TEST_CASE(destroying_an_unstarted_runtime_is_clean) {
  finished_turns = 0;
  {
    cairn::runtime rt(shards(2));
    auto workers = rt.register_namespace<worker>("worker");
    workers.get("w").send(&worker::work, workers.get("v"), 0);
  }
  BOOST_TEST(finished_turns.load() == 0);
}

BOOST_AUTO_TEST_CASE(blocking_calls_from_a_shard_are_refused) {
  cairn::runtime rt(shards(1));
  auto outcome = rt.block_on([](cairn::runtime& rt) -> cairn::task<std::string> {
    try {
      rt.block_on([]() -> cairn::task<void> { co_return; }());
    } catch (const std::logic_error& e) {
      co_return e.what();
    }
    co_return "not refused";
  }(rt));
  BOOST_TEST(outcome.find("cannot be called from one of the runtime's own shards") != std::string::npos);
  rt.stop();
  rt.run();
}

BOOST_AUTO_TEST_CASE(namespaces_are_fixed_once_started) {
  cairn::runtime rt(shards(1));
  rt.start();
  BOOST_CHECK_THROW(rt.register_namespace<worker>("late"), std::logic_error);
  rt.stop();
  rt.run();
}

BOOST_AUTO_TEST_CASE(actors_reach_objects_the_program_provides) {
  cairn::runtime rt(shards(2));
  greeting g{"hello"};
  auto ns = rt.register_namespace<greeter>("greeter");
  BOOST_CHECK_THROW((void)rt.service<greeting>(), std::logic_error);
  rt.provide(g);
  BOOST_CHECK_THROW(rt.provide(g), std::logic_error);  // one per type
  BOOST_TEST(&rt.service<greeting>() == &g);
  const std::string a = rt.block_on(greet(ns.get("a"), "a"));
  const std::string b = rt.block_on(greet(ns.get("b"), "b"));
  BOOST_TEST(a == "hello, a");
  BOOST_TEST(b == "hello, b");
  int other = 0;
  BOOST_CHECK_THROW(rt.provide(other), std::logic_error);  // fixed once started
  rt.stop();
  rt.run();
}

BOOST_AUTO_TEST_SUITE_END()
