#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <cairn/cairn.hpp>

#include "support.hpp"

namespace {

using cairn_test::shards;

// Detects two handlers of one actor executing at the same moment.
class exclusive : public cairn::actor {
 public:
  void enter() {
    if (busy_.exchange(true)) overlaps_.fetch_add(1);
    if (thread_ == std::thread::id()) thread_ = std::this_thread::get_id();
    if (thread_ != std::this_thread::get_id()) overlaps_.fetch_add(1);
    for (int i = 0; i < 200; ++i) spin_ = spin_ * 31u + static_cast<unsigned long>(i);  // some time inside the handler
    ++count_;
    busy_.store(false);
  }
  cairn::task<void> enter_twice() {
    enter();
    co_await cairn::sleep_for(std::chrono::microseconds(50));
    enter();
  }
  int count() const { return count_; }
  static inline std::atomic<int> overlaps_{0};

 private:
  std::atomic<bool> busy_{false};
  std::atomic<unsigned long> spin_{0};
  std::thread::id thread_;
  int count_ = 0;
};

class echo : public cairn::actor {
 public:
  int ping(int x) { return x; }
};

// Logs the order of its events.
class logger : public cairn::actor {
 public:
  cairn::task<void> long_turn(cairn::actor_ref<echo> other) {
    log_ += "A1 ";
    log_ += "A2 ";
    co_await cairn::sleep_for(std::chrono::milliseconds(5));
    log_ += "A3 ";
    co_await other.call(&echo::ping, 1);
    log_ += "A4 ";
  }
  cairn::task<void> blocked_turn(cairn::actor_ref<echo> other) {
    co_await block_concurrency_while([&]() -> cairn::task<void> {
      log_ += "A1 ";
      co_await cairn::sleep_for(std::chrono::milliseconds(5));
      log_ += "A2 ";
      co_await other.call(&echo::ping, 1);
      log_ += "A3 ";
    });
  }
  void quick(std::string tag) { log_ += tag + " "; }
  std::string log() const { return log_; }

 private:
  std::string log_;
};

class slow_starter : public cairn::actor {
 public:
  cairn::task<void> on_start() {
    co_await cairn::sleep_for(std::chrono::milliseconds(10));
    ready_ = true;
  }
  bool ready() const { return ready_; }

 private:
  bool ready_ = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(turns)

BOOST_AUTO_TEST_CASE(no_two_handlers_of_one_actor_run_at_once) {
  exclusive::overlaps_ = 0;
  cairn::runtime rt(shards(2));
  auto ex = rt.register_namespace<exclusive>("exclusive");
  constexpr int tasks = 16, per_task = 500;
  auto count = rt.run([&]() -> cairn::task<int> {
    std::vector<cairn::task<void>> work;
    for (int t = 0; t < tasks; ++t) {
      // Drivers on both shards hammer the same two actors with sync and coroutine handlers.
      work.push_back([](cairn::actor_namespace<exclusive> ex) -> cairn::task<void> {
        for (int i = 0; i < per_task; ++i) {
          ex.get("one").send(&exclusive::enter);
          co_await ex.get("two").call(&exclusive::enter_twice);
          co_await ex.get("one").call(&exclusive::enter);
        }
      }(ex));
    }
    co_await cairn::when_all(std::move(work));
    co_return co_await ex.get("one").call(&exclusive::count) + co_await ex.get("two").call(&exclusive::count);
  });
  BOOST_TEST(exclusive::overlaps_.load() == 0);
  BOOST_TEST(count == tasks * per_task * 4);
}

BOOST_AUTO_TEST_CASE(other_events_interleave_only_at_awaits) {
  cairn::runtime rt(shards(2));
  auto loggers = rt.register_namespace<logger>("logger");
  auto echoes = rt.register_namespace<echo>("echo");
  auto log = rt.run([&]() -> cairn::task<std::string> {
    auto l = loggers.get("l");
    // Dispatched in this order (FIFO from one sender): A, then B and C.
    co_await cairn::when_all(l.call(&logger::long_turn, echoes.get("e")), l.call(&logger::quick, std::string("B")),
                             l.call(&logger::quick, std::string("C")));
    co_return co_await l.call(&logger::log);
  });
  // B and C run while A is suspended in its sleep, never between A1 and A2.
  BOOST_TEST(log == "A1 A2 B C A3 A4 ");
}

BOOST_AUTO_TEST_CASE(block_concurrency_while_holds_other_events) {
  cairn::runtime rt(shards(2));
  auto loggers = rt.register_namespace<logger>("logger");
  auto echoes = rt.register_namespace<echo>("echo");
  auto log = rt.run([&]() -> cairn::task<std::string> {
    auto l = loggers.get("l");
    co_await cairn::when_all(l.call(&logger::blocked_turn, echoes.get("e")), l.call(&logger::quick, std::string("B")),
                             l.call(&logger::quick, std::string("C")));
    co_return co_await l.call(&logger::log);
  });
  BOOST_TEST(log == "A1 A2 A3 B C ");
}

BOOST_AUTO_TEST_CASE(on_start_finishes_before_the_first_event) {
  cairn::runtime rt(shards(2));
  auto starters = rt.register_namespace<slow_starter>("starter");
  rt.run([&]() -> cairn::task<> {
    std::vector<cairn::task<bool>> calls;
    for (int i = 0; i < 10; ++i) calls.push_back(cairn::as_task(starters.get("s").call(&slow_starter::ready)));
    for (bool r : co_await cairn::when_all(std::move(calls))) BOOST_TEST(r);
  });
}

BOOST_AUTO_TEST_SUITE_END()
