// The group sync: the output of `full` commits leaves once a syncfs that
// began after them has returned, while the shard goes on with other work;
// held output keeps its order across epochs; a failed sync voids it.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <cairn/cairn.hpp>
#include <cairn/storage.hpp>
#include <cairn/testing/fault_vfs.hpp>
#include <cairn/testing/sync_faults.hpp>

#include "storage/commit_log.hpp"
#include "support.hpp"

namespace {

using reason = cairn::storage_error::reason;

std::atomic<int> built{0};     // counter instances constructed
std::atomic<int> handled{0};   // counter handlers that ran
std::mutex log_mutex;
std::vector<std::string> log_;  // what arrived (replies, messages), in order

void note(std::string s) {
  std::lock_guard lock(log_mutex);
  log_.push_back(std::move(s));
}
std::vector<std::string> logged() {
  std::lock_guard lock(log_mutex);
  return log_;
}
void reset_log() {
  std::lock_guard lock(log_mutex);
  log_.clear();
  built = 0;
  handled = 0;
}

struct sink : cairn::actor {
  void take(std::string s) { note("sink:" + s); }
};

struct plain : cairn::actor {
  int ping() { return 1; }
};

struct counter : cairn::actor {
  counter() { ++built; }
  std::int64_t incr(std::string key) {
    ++handled;
    auto n = storage().get_as<std::int64_t>(key).value_or(0) + 1;
    storage().put(key, n);
    return n;
  }
  std::int64_t read(std::string key) {
    ++handled;
    return storage().get_as<std::int64_t>(key).value_or(0);
  }
  void write_and_tell(std::string key, cairn::actor_ref<sink> to, std::string what) {
    ++handled;
    storage().put(key, true);
    to.send(&sink::take, what);
  }
  void tell(cairn::actor_ref<sink> to, std::string what) {
    ++handled;
    to.send(&sink::take, what);
  }
};

/// Holds every group sync while it lives (released even when a check fails,
/// or the runtime's stop would wait for ever).
struct syncs_held {
  syncs_held() { cairn::testing::hold_group_syncs(true); }
  ~syncs_held() { release(); }
  void release() { cairn::testing::hold_group_syncs(false); }
};
struct syncs_failing {
  syncs_failing() { cairn::testing::fail_group_syncs(true); }
  ~syncs_failing() { release(); }
  void release() { cairn::testing::fail_group_syncs(false); }
};

cairn::runtime_options opts(const cairn_test::temp_dir& dir, unsigned shards) {
  auto o = cairn_test::shards(shards);
  o.data_dir = dir.path();
  o.durability = cairn::durability::full;
  return o;
}

int ping(cairn::runtime& rt, cairn::actor_ref<plain> p) {
  return rt.block_on([](auto p) -> cairn::task<int> { co_return co_await p.call(&plain::ping); }(p));
}

/// Round trips through shard 0 until `done()` holds; false after 10 s.
template <class F>
bool eventually(cairn::runtime& rt, cairn::actor_ref<plain> p, F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ping(rt, p);
  }
  return true;
}

/// A few more passes of shard 0: output the gate let out would be here by now.
void more_passes(cairn::runtime& rt, cairn::actor_ref<plain> p) {
  for (int i = 0; i < 5; ++i) BOOST_TEST(ping(rt, p) == 1);
}

/// A runtime with a counter `c` and a plain actor `p` (the pings).
struct world {
  explicit world(cairn::runtime_options o)
      : rt(std::move(o)), counters(rt.register_namespace<counter>("counter")),
        plains(rt.register_namespace<plain>("plain")), c(counters.get("c")), p(plains.get("p")) {
    reset_log();
  }
  cairn::runtime rt;
  cairn::actor_namespace<counter> counters;
  cairn::actor_namespace<plain> plains;
  cairn::actor_ref<counter> c;
  cairn::actor_ref<plain> p;
};

/// Starts `c.m("n")` in a root task; its result is logged as "label:value".
void spawn_logged(cairn::runtime& rt, cairn::actor_ref<counter> c, std::int64_t (counter::*m)(std::string),
                  std::string label) {
  rt.spawn([](auto c, auto m, std::string label) -> cairn::task<void> {
    auto v = co_await c.call(m, std::string("n"));
    note(label + ":" + std::to_string(v));
  }(c, m, std::move(label)));
}

template <class F>
cairn::task<bool> fails_with(reason k, F f) {
  bool hit = false;
  try {
    (void)co_await f();
  } catch (const cairn::storage_error& e) {
    hit = e.kind() == k;
  }
  co_return hit;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(group_sync)

// One shard: the pings are answered by the very shard whose commit waits.
BOOST_AUTO_TEST_CASE(output_waits_for_its_sync_while_the_shard_goes_on) {
  cairn_test::temp_dir dir;
  world w(opts(dir, 1));
  auto& [rt, counters, plains, c, p] = w;
  syncs_held hold;
  spawn_logged(rt, c, &counter::incr, "incr");
  BOOST_REQUIRE(eventually(rt, p, [] { return handled == 1; }));
  more_passes(rt, p);
  BOOST_TEST(logged().empty());  // committed, not durable: the reply waits
  // A read of what that commit wrote reveals it: its reply waits as well.
  spawn_logged(rt, c, &counter::read, "read");
  BOOST_REQUIRE(eventually(rt, p, [] { return handled == 2; }));
  more_passes(rt, p);
  BOOST_TEST(logged().empty());
  hold.release();
  BOOST_REQUIRE(eventually(rt, p, [] { return logged().size() == 2; }));
  BOOST_TEST((logged() == std::vector<std::string>{"incr:1", "read:1"}));
}

// Messages sent after a write, sent without a write while that commit awaits
// its sync, and sent after a later write leave in the order they were sent.
BOOST_AUTO_TEST_CASE(held_output_keeps_its_order_across_epochs) {
  cairn_test::temp_dir dir;
  cairn::runtime rt(opts(dir, 2));
  auto counters = rt.register_namespace<counter>("counter");
  auto plains = rt.register_namespace<plain>("plain");
  auto sinks = rt.register_namespace<sink>("sink");
  auto c = counters.get("c");
  auto p = plains.get("p");
  auto s = sinks.get("s");
  reset_log();
  syncs_held hold;
  auto send = [&](auto f, int expected_handled) {
    rt.spawn(std::move(f));
    BOOST_REQUIRE(eventually(rt, p, [=] { return handled == expected_handled; }));
    more_passes(rt, p);
  };
  send([](auto c, auto s) -> cairn::task<void> { co_await c.call(&counter::write_and_tell, std::string("a"), s, std::string("1")); }(c, s), 1);
  send([](auto c, auto s) -> cairn::task<void> { co_await c.call(&counter::tell, s, std::string("2")); }(c, s), 2);
  send([](auto c, auto s) -> cairn::task<void> { co_await c.call(&counter::write_and_tell, std::string("b"), s, std::string("3")); }(c, s), 3);
  BOOST_TEST(logged().empty());
  hold.release();
  BOOST_REQUIRE(eventually(rt, p, [] { return logged().size() == 3; }));
  BOOST_TEST((logged() == std::vector<std::string>{"sink:1", "sink:2", "sink:3"}));
}

// Three epochs wait: two of one actor's file and one of another's. One sync
// of the commit log releases them all (the log holds the writes of both
// files); without a failure no sync is a syncfs.
BOOST_AUTO_TEST_CASE(one_sync_of_the_log_covers_every_file_its_epochs_wrote) {
  cairn_test::temp_dir dir;
  world w(opts(dir, 1));
  auto& [rt, counters, plains, a, p] = w;
  auto b = counters.get("b");
  auto incr = [&](cairn::actor_ref<counter> c) {
    return rt.block_on([](auto c) -> cairn::task<std::int64_t> { co_return co_await c.call(&counter::incr, std::string("n")); }(c));
  };
  // Both files made, and a sync since then that covered their making.
  BOOST_TEST(incr(a) == 1);
  BOOST_TEST(incr(b) == 1);
  BOOST_TEST(incr(a) == 2);
  auto epochs_held = [&](std::vector<cairn::actor_ref<counter>> cs, std::size_t replies_before) {
    syncs_held hold;
    for (auto c : cs) {
      const auto requests = cairn::testing::group_sync_requests();
      spawn_logged(rt, c, &counter::incr, "incr");
      BOOST_REQUIRE(eventually(rt, p, [=] { return cairn::testing::group_sync_requests() > requests; }));
    }
    more_passes(rt, p);
    BOOST_TEST(logged().size() == replies_before);  // every one still waits
    const auto log_syncs = cairn::testing::group_syncs_of_the_log();
    hold.release();
    BOOST_REQUIRE(eventually(rt, p, [&] { return logged().size() == replies_before + cs.size(); }));
    return cairn::testing::group_syncs_of_the_log() - log_syncs;
  };
  BOOST_TEST(epochs_held({a, a, b}, 0) == 1u);
  BOOST_TEST(epochs_held({a, a}, 3) == 1u);
  BOOST_TEST((logged() == std::vector<std::string>{"incr:3", "incr:4", "incr:2", "incr:5", "incr:6"}));
}

BOOST_AUTO_TEST_CASE(a_failed_sync_voids_the_output_and_resets_the_actor) {
  cairn_test::temp_dir dir;
  auto o = opts(dir, 2);
  std::atomic<int> reported{0};
  o.on_unhandled_error = [&](std::exception_ptr, std::string_view context) {
    if (context == "the group sync") ++reported;
  };
  cairn::runtime rt(o);
  auto counters = rt.register_namespace<counter>("counter");
  auto sinks = rt.register_namespace<sink>("sink");
  reset_log();
  rt.block_on([](auto c, auto other, auto s, std::atomic<int>* reported) -> cairn::task<void> {
    BOOST_TEST(co_await c.call(&counter::incr, std::string("n")) == 1);
    {
      syncs_failing failing;
      bool failed = co_await fails_with(reason::commit_failed, [c] { return c.call(&counter::incr, std::string("n")); });
      BOOST_TEST(failed);
      // A message sent after a write whose sync failed is never delivered.
      bool voided = co_await fails_with(reason::commit_failed, [c, s] {
        return c.call(&counter::write_and_tell, std::string("k"), s, std::string("lost"));
      });
      BOOST_TEST(voided);
    }
    BOOST_TEST(reported->load() >= 1);  // the failure reached the unhandled-error hook
    const int before = built;
    BOOST_TEST(co_await c.call(&counter::read, std::string("n")) >= 1);  // a new instance, from the file
    BOOST_TEST(built == before + 1);
    BOOST_TEST(co_await other.call(&counter::incr, std::string("n")) == 1);  // the rest kept serving
    co_await c.call(&counter::write_and_tell, std::string("k"), s, std::string("kept"));
  }(counters.get("c"), counters.get("other"), sinks.get("s"), &reported));
  rt.stop();
  rt.run();
  BOOST_TEST((logged() == std::vector<std::string>{"sink:kept"}));
}

// An instance made after a reset reads what the old one committed before it
// was durable: its output waits for that sync too.
BOOST_AUTO_TEST_CASE(a_new_instance_waits_for_the_sync_of_what_it_reads) {
  cairn_test::temp_dir dir;
  auto o = opts(dir, 1);
  o.sqlite_vfs = cairn::testing::install_fault_vfs();
  o.on_unhandled_error = [](std::exception_ptr, std::string_view) {};
  world w(o);
  auto& [rt, counters, plains, c, p] = w;
  syncs_held hold;
  const auto requests = cairn::testing::group_sync_requests();
  spawn_logged(rt, c, &counter::incr, "incr");
  // Committed (and waiting for its sync) before the writes start failing.
  BOOST_REQUIRE(eventually(rt, p, [=] { return cairn::testing::group_sync_requests() > requests; }));
  // The next commit fails: that instance is reset (a failure is not held).
  cairn::testing::fail_writes(true);
  const bool failed = rt.block_on([](auto c) -> cairn::task<bool> {
    co_return co_await fails_with(reason::commit_failed, [c] { return c.call(&counter::incr, std::string("m")); });
  }(c));
  cairn::testing::fail_writes(false);
  BOOST_TEST(failed);
  spawn_logged(rt, c, &counter::read, "read");
  BOOST_REQUIRE(eventually(rt, p, [] { return handled == 3; }));
  BOOST_TEST(built == 2);
  more_passes(rt, p);
  BOOST_TEST(logged().empty());
  hold.release();
  BOOST_REQUIRE(eventually(rt, p, [] { return logged().size() == 2; }));
  BOOST_TEST((logged() == std::vector<std::string>{"incr:1", "read:1"}));
}

// Two threads sync the commit log at once (the group sync and a checkpoint's
// sync before it writes a database file, say): the second finds nothing left
// to claim, yet must not return before the first one's fdatasync, which its
// records need, has. (Before the fix it returned at once, and the outputs it
// released were not durable yet.)
BOOST_AUTO_TEST_CASE(a_log_sync_returns_only_after_the_fdatasync_that_covers_its_records) {
  using cairn::detail::commit_log;
  cairn_test::temp_dir dir;
  commit_log log(dir.path(), commit_log::min_segment_bytes);
  std::string records;
  commit_log::add_write(records, "a.sqlite-wal", 0, "abc", 3);
  log.append(records);

  std::promise<void> claimed, release;
  auto released = release.get_future().share();
  std::atomic<int> calls{0};
  commit_log::after_claim_for_tests = [&] {
    if (calls++ != 0) return;
    claimed.set_value();
    released.wait();  // the first sync holds its claim, before its fdatasync
  };
  std::thread first([&] { BOOST_TEST(log.sync() == 0); });
  claimed.get_future().wait();
  std::atomic<bool> second_returned{false};
  std::thread second([&] {
    BOOST_TEST(log.sync() == 0);
    second_returned = true;
  });
  // The first sync is held before its fdatasync: the second must not return
  // meanwhile. (A wrong early return shows within this time.)
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const bool returned_early = second_returned.load();
  release.set_value();
  first.join();
  second.join();
  commit_log::after_claim_for_tests = nullptr;
  BOOST_TEST(!returned_early);
}

BOOST_AUTO_TEST_SUITE_END()
