#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include <cairn/cairn.hpp>
#include <cairn/rpc.hpp>

#include "support.hpp"

namespace {

using cairn_test::shards;

class account : public cairn::actor {
 public:
  long deposit(long n) { return balance_ += n; }
  long balance() const { return balance_; }
  void fail(std::string why) { throw std::invalid_argument(why); }
  cairn::task<long> slow_balance() {
    co_await cairn::sleep_for(std::chrono::milliseconds(1));
    co_return balance_;
  }
  cairn::task<void> slow_fail() {
    co_await cairn::sleep_for(std::chrono::milliseconds(1));
    throw std::length_error("slow failure");
  }
  std::string owner(std::string prefix, bool upper) const { return prefix + (upper ? "ALICE" : "alice"); }

  static constexpr auto rpc = cairn::rpc_methods(
      cairn::rpc_method<&account::deposit>("deposit"), cairn::rpc_method<&account::balance>("balance"),
      cairn::rpc_method<&account::slow_balance>("slowBalance"), cairn::rpc_method<&account::slow_fail>("slowFail"),
      cairn::rpc_method<&account::owner>("owner"));

 private:
  long balance_ = 0;
};

// What a call by name came to: the JSON result, or the error's type and message.
struct by_name_outcome {
  boost::json::value value;
  std::string error;
};

cairn::task<by_name_outcome> by_name(cairn::actor_ref<account> a, std::string method, std::string args_json) {
  by_name_outcome o;
  boost::json::array args = boost::json::parse(args_json).as_array();
  try {
    o.value = co_await cairn::call_by_name(a, std::move(method), std::move(args));
  } catch (const cairn::bad_call& e) {
    o.error = std::string("bad_call: ") + e.what();
  } catch (const std::exception& e) {
    o.error = e.what();
  }
  co_return o;
}

// Records, per sender, the sequence numbers it received.
class recorder : public cairn::actor {
 public:
  void note(int sender, int seq) { seen_[sender].push_back(seq); }
  int note_call(int sender, int seq) {
    note(sender, seq);
    return seq;
  }
  std::map<int, std::vector<int>> seen() const { return seen_; }

 private:
  std::map<int, std::vector<int>> seen_;
};

class sender : public cairn::actor {
 public:
  // Mixes one-way sends and calls; FIFO must hold across both.
  cairn::task<void> run(cairn::actor_ref<recorder> to, int me, int count) {
    for (int i = 0; i < count; ++i) {
      if (i % 10 == 9) {
        co_await to.call(&recorder::note_call, me, i);
      } else {
        to.send(&recorder::note, me, i);
      }
    }
  }
};

std::atomic<int> constructions{0};
std::atomic<int> starts{0};

class fragile : public cairn::actor {
 public:
  fragile() {
    if (constructions++ == 0) throw std::runtime_error("constructor refuses");
  }
  int ping() const { return 1; }
};

class bad_start : public cairn::actor {
 public:
  cairn::task<void> on_start() {
    ++starts;
    co_await cairn::sleep_for(std::chrono::milliseconds(2));
    throw std::runtime_error("on_start refuses");
  }
  int ping() const { return 1; }
};

template <class E, class F>
std::string what_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "nothing thrown";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(messaging)

BOOST_AUTO_TEST_CASE(call_returns_results_and_rethrows_errors) {
  cairn::runtime rt(shards(2));
  auto accounts = rt.register_namespace<account>("account");
  rt.run([&]() -> cairn::task<> {
    for (int i = 0; i < 8; ++i) {  // ids land on both shards: local and remote paths
      auto a = accounts.get("acct" + std::to_string(i));
      BOOST_TEST(co_await a.call(&account::deposit, 5) == 5);
      BOOST_TEST(co_await a.call(&account::deposit, 7L) == 12);
      BOOST_TEST(co_await a.call(&account::slow_balance) == 12);
      std::string msg;
      try {
        co_await a.call(&account::fail, std::string("no funds"));
      } catch (const std::invalid_argument& e) {
        msg = e.what();
      }
      BOOST_TEST(msg == "no funds");
      bool slow_failed = false;
      try {
        co_await a.call(&account::slow_fail);
      } catch (const std::length_error&) {
        slow_failed = true;
      }
      BOOST_TEST(slow_failed);
      BOOST_TEST(co_await a.call(&account::balance) == 12);  // an error does not reset the actor
    }
  });
}

BOOST_AUTO_TEST_CASE(one_way_errors_go_to_the_hook) {
  std::atomic<int> reported{0};
  auto o = shards(2);
  o.on_unhandled_error = [&](std::exception_ptr e, std::string_view context) {
    if (cairn::describe(e) == "one way" && context.find("account/") != std::string_view::npos) ++reported;
  };
  cairn::runtime rt(o);
  auto accounts = rt.register_namespace<account>("account");
  rt.run([&]() -> cairn::task<> {
    for (int i = 0; i < 10; ++i) accounts.get(std::string("a").append(std::to_string(i))).send(&account::fail, std::string("one way"));
    co_return;
  });
  BOOST_TEST(reported.load() == 10);
}

BOOST_AUTO_TEST_CASE(fifo_per_sender_across_shards) {
  cairn::runtime rt(shards(2));
  auto recorders = rt.register_namespace<recorder>("recorder");
  auto senders = rt.register_namespace<sender>("sender");
  constexpr int per_sender = 20'000;
  constexpr int sender_count = 8;
  auto seen = rt.run([&]() -> cairn::task<std::map<int, std::vector<int>>> {
    auto to = recorders.get("sink");
    std::vector<cairn::task<void>> runs;
    for (int s = 0; s < sender_count; ++s)
      runs.push_back(cairn::as_task(senders.get("s" + std::to_string(s)).call(&sender::run, to, s, per_sender)));
    co_await cairn::when_all(std::move(runs));
    // The last messages were calls, so everything before them was delivered.
    co_return co_await to.call(&recorder::seen);
  });
  BOOST_TEST_REQUIRE(seen.size() == static_cast<std::size_t>(sender_count));
  for (auto& [s, seqs] : seen) {
    BOOST_TEST_REQUIRE(seqs.size() == static_cast<std::size_t>(per_sender));
    for (int i = 0; i < per_sender; ++i) BOOST_TEST_REQUIRE(seqs[i] == i);
  }
}

BOOST_AUTO_TEST_CASE(cross_shard_calls_under_contention) {
  cairn::runtime rt(shards(2));
  auto accounts = rt.register_namespace<account>("account");
  constexpr int callers = 64, calls_each = 2'000, targets = 4;
  rt.start();
  // Two foreign threads call from outside while callers on both shards run.
  std::vector<std::thread> outside;
  for (int t = 0; t < 2; ++t)
    outside.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i)
        rt.block_on(cairn::as_task(accounts.get("t" + std::to_string((i + t) % targets)).call(&account::deposit, 1)),
                    static_cast<unsigned>(i % 2));
    });
  std::vector<cairn::task<void>> work;
  for (int c = 0; c < callers; ++c) {
    work.push_back([](cairn::actor_namespace<account> accounts, int c) -> cairn::task<void> {
      for (int i = 0; i < calls_each; ++i)
        co_await accounts.get("t" + std::to_string((c + i) % targets)).call(&account::deposit, 1);
    }(accounts, c));
  }
  rt.block_on(cairn::when_all(std::move(work)), 1);
  for (auto& th : outside) th.join();
  auto totals = rt.block_on([&]() -> cairn::task<std::vector<long>> {
    std::vector<long> out;
    for (int t = 0; t < targets; ++t) out.push_back(co_await accounts.get("t" + std::to_string(t)).call(&account::balance));
    co_return out;
  }());
  rt.stop();
  rt.run();
  long sum = 0;
  for (long v : totals) sum += v;
  BOOST_TEST(sum == static_cast<long>(callers) * calls_each + 2 * 500);
}

BOOST_AUTO_TEST_CASE(constructor_failure_is_a_typed_error_and_later_calls_retry) {
  constructions = 0;
  cairn::runtime rt(shards(2));
  auto fragiles = rt.register_namespace<fragile>("fragile");
  auto accounts = rt.register_namespace<account>("account");
  rt.run([&]() -> cairn::task<> {
    std::string what;
    try {
      co_await fragiles.get("f").call(&fragile::ping);
    } catch (const cairn::activation_error& e) {
      what = e.what();
      BOOST_TEST(cairn::describe(e.cause()) == "constructor refuses");
    }
    BOOST_TEST(what.find("constructing fragile/") != std::string::npos);
    BOOST_TEST(what.find("constructor refuses") != std::string::npos);
    BOOST_TEST(co_await accounts.get("other").call(&account::deposit, 1) == 1);  // others unaffected
    BOOST_TEST(co_await fragiles.get("f").call(&fragile::ping) == 1);            // second activation works
  });
}

BOOST_AUTO_TEST_CASE(on_start_failure_fails_every_queued_message) {
  starts = 0;
  cairn::runtime rt(shards(2));
  auto bads = rt.register_namespace<bad_start>("bad_start");
  rt.run([&]() -> cairn::task<> {
    auto b = bads.get("b");
    std::vector<cairn::task<int>> calls;
    for (int i = 0; i < 5; ++i) calls.push_back(cairn::as_task(b.call(&bad_start::ping)));
    int failures = 0;
    for (auto& c : calls) {
      try {
        co_await c;
      } catch (const cairn::activation_error& e) {
        if (std::string(e.what()).find("on_start() of bad_start/") != std::string::npos) ++failures;
      }
    }
    BOOST_TEST(failures == 5);
  });
  BOOST_TEST(starts.load() >= 1);
}

BOOST_AUTO_TEST_CASE(stopped_runtime_refuses_new_work) {
  cairn::runtime rt(shards(2));
  auto accounts = rt.register_namespace<account>("account");
  rt.run([&]() -> cairn::task<> { co_await accounts.get("a").call(&account::deposit, 1); });
  BOOST_CHECK_THROW(accounts.get("a").send(&account::deposit, 1), cairn::runtime_stopped);
  BOOST_CHECK_THROW(rt.block_on(cairn::as_task(accounts.get("a").call(&account::deposit, 1))), cairn::runtime_stopped);
  BOOST_CHECK_THROW(rt.spawn([]() -> cairn::task<void> { co_return; }()), cairn::runtime_stopped);
  BOOST_TEST(what_of<cairn::runtime_stopped>([&] { accounts.get("a").send(&account::deposit, 1); }).find("stopped") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(methods_offered_by_name_take_and_give_json) {
  cairn::runtime rt(shards(2));
  auto ns = rt.register_namespace<account>("account");
  const auto a = ns.get("a");
  BOOST_TEST((cairn::rpc_names<account>() ==
              std::vector<std::string>{"deposit", "balance", "slowBalance", "slowFail", "owner"}));
  BOOST_TEST(rt.block_on(by_name(a, "deposit", "[40]")).value == 40);
  BOOST_TEST(rt.block_on(by_name(a, "deposit", "[2]")).value == 42);
  BOOST_TEST(rt.block_on(by_name(a, "balance", "[]")).value == 42);
  BOOST_TEST(rt.block_on(by_name(a, "slowBalance", "[]")).value == 42);
  BOOST_TEST(rt.block_on(by_name(a, "owner", R"(["mr ", true])")).value == "mr ALICE");
  BOOST_TEST(rt.block_on(by_name(a, "slowFail", "[]")).error == "slow failure");
  const auto unknown = rt.block_on(by_name(a, "withdraw", "[1]"));
  BOOST_TEST(unknown.error == "bad_call: cairn: the actor offers no method 'withdraw'");
  const auto count = rt.block_on(by_name(a, "deposit", "[1, 2]"));
  BOOST_TEST(count.error == "bad_call: cairn: deposit takes 1 argument(s), not 2");
  const auto type = rt.block_on(by_name(a, "deposit", R"(["ten"])"));
  BOOST_TEST(type.error.starts_with("bad_call: cairn: argument 1 of deposit does not convert"), type.error);
  BOOST_TEST(rt.block_on(by_name(a, "balance", "[]")).value == 42);  // refused calls changed nothing
  rt.stop();
  rt.run();
}

BOOST_AUTO_TEST_SUITE_END()
