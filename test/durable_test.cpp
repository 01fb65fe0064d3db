// Alarms and hibernation, on a manual clock: time moves only when a test
// advances it, and every advance makes each shard look at alarms and idle
// actors before it handles the next message, so nothing here sleeps.
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include <cairn/cairn.hpp>
#include <cairn/storage.hpp>
#include <cairn/use_task.hpp>

#include "support.hpp"

namespace {

using namespace std::chrono_literals;

std::atomic<int> made{0};
std::atomic<int> gone{0};
std::atomic<int> touches{0};
std::mutex log_mutex;
std::vector<std::string> evicted;  // names of actors whose destructor ran

std::function<void()> on_first_gone;  // run (on the shard) by the destructor that makes `gone` 1
std::atomic<int> gone_seen{-1};       // what tracked::see_gone saw

struct tracked : cairn::actor {
  tracked() { ++made; }
  ~tracked() override {
    if (++gone == 1 && on_first_gone) on_first_gone();
    std::lock_guard lock(log_mutex);
    evicted.push_back(name);
  }
  void see_gone() { gone_seen = gone.load(); }
  std::string name;
  std::int64_t touch(std::string n) {
    ++touches;
    name = n;
    auto v = storage().get_as<std::int64_t>("v").value_or(0) + 1;
    storage().put("v", v);
    return v;
  }
  // A pending await the test releases: hibernation must wait for it.
  cairn::task<int> wait_for_release() {
    timer_.emplace(cairn::detail::shard::current()->io());
    timer_->expires_at(boost::asio::steady_timer::time_point::max());
    try {
      co_await timer_->async_wait(cairn::use_task);
    } catch (const boost::system::system_error&) {
    }
    co_return 7;
  }
  void release() { timer_->cancel(); }
  std::optional<boost::asio::steady_timer> timer_;
};

std::atomic<int> attempts{0};
std::atomic<bool> fail_alarms{false};
std::mutex info_mutex;
std::vector<cairn::alarm_info> infos;

struct alarmed : cairn::actor {
  alarmed() { ++made; }
  ~alarmed() override { ++gone; }
  void set(std::chrono::system_clock::time_point t) { storage().set_alarm(t); }
  std::optional<std::chrono::system_clock::time_point> get() { return storage().get_alarm(); }
  int fired() { return static_cast<int>(storage().get_as<std::int64_t>("fired").value_or(0)); }
  cairn::task<void> alarm(cairn::alarm_info info) override {
    ++attempts;
    {
      std::lock_guard lock(info_mutex);
      infos.push_back(info);
    }
    if (fail_alarms) throw std::runtime_error("alarm handler failed");
    storage().put("fired", fired() + 1);
    co_return;
  }
};

struct fixture {
  fixture() {
    made = gone = attempts = 0;
    fail_alarms = false;
    evicted.clear();
    infos.clear();
  }
  std::shared_ptr<cairn::manual_clock> clock = std::make_shared<cairn::manual_clock>();
  cairn_test::temp_dir dir;
  cairn::runtime_options options(unsigned shards = 1) {
    auto o = cairn_test::shards(shards);
    o.data_dir = dir.path();
    o.clock = clock;
    o.idle_timeout = 10s;
    o.on_unhandled_error = [](std::exception_ptr, std::string_view) {};
    return o;
  }
};

/// Calls `m` on `r` from a root task and waits for the result.
template <class Ref, class M, class... A>
auto call(cairn::runtime& rt, Ref r, M m, A... a) {
  using R = typename decltype(r.call(m, a...))::value_type;
  return rt.block_on([](Ref r, M m, A... a) -> cairn::task<R> { co_return co_await r.call(m, std::move(a)...); }(
      r, m, std::move(a)...));
}

/// How many of this process's file descriptors are open on files under `dir`
/// ending in `suffix`.
// Distinct files: a database file is open twice (SQLite's descriptor and the
// one holding its lock, storage/exclusive_vfs.hpp).
int open_files_under(const std::filesystem::path& dir, std::string_view suffix) {
  std::set<std::string> files;
  for (auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.starts_with(dir.string()) && target.ends_with(suffix)) files.insert(target);
  }
  return static_cast<int>(files.size());
}

/// Returns once the shard has handled everything posted before (ticks included).
void sync(cairn::runtime& rt, unsigned shard = 0) {
  rt.block_on([]() -> cairn::task<void> { co_return; }(), shard);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hibernation, fixture)

BOOST_AUTO_TEST_CASE(idle_actor_leaves_memory_and_wakes_with_its_state) {
  cairn::runtime rt(options());
  auto a = rt.register_namespace<tracked>("tracked").get("a");
  BOOST_TEST(call(rt, a, &tracked::touch, std::string("a")) == 1);
  clock->advance(9s);
  sync(rt);
  BOOST_TEST(gone == 0);
  clock->advance(2s);
  sync(rt);
  BOOST_TEST(gone == 1);  // idle for 11 s > idle_timeout
  BOOST_TEST(call(rt, a, &tracked::touch, std::string("a")) == 2);  // built again, it sees what it committed
  BOOST_TEST(made == 2);
}

std::vector<std::filesystem::path> files_ending(const std::filesystem::path& dir, std::string_view suffix) {
  std::vector<std::filesystem::path> out;
  for (auto& f : std::filesystem::recursive_directory_iterator(dir))
    if (f.path().string().ends_with(suffix) && f.path().filename().string().front() != '.') out.push_back(f.path());
  return out;
}

std::string contents(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

BOOST_AUTO_TEST_CASE(a_hibernated_actor_with_a_long_wal_leaves_it_checkpointed_and_empty) {
  // Kept so the next activation opens it rather than creating a file;
  // emptied so hibernated actors hold no stale log on disk.
  cairn::runtime rt(options());
  auto a = rt.register_namespace<tracked>("tracked").get("a");
  for (int i = 1; i <= 100; ++i) BOOST_TEST(call(rt, a, &tracked::touch, std::string("a")) == i);  // a frame each
  const auto wals = files_ending(dir.path(), ".sqlite-wal");
  BOOST_REQUIRE(wals.size() == 1);
  BOOST_TEST(std::filesystem::file_size(wals[0]) > 0);  // the log of the writes so far
  clock->advance(11s);
  sync(rt);
  BOOST_REQUIRE(gone == 1);
  BOOST_TEST(open_files_under(dir.path(), ".sqlite-wal") == 0);
  BOOST_REQUIRE(std::filesystem::exists(wals[0]));
  BOOST_TEST(std::filesystem::file_size(wals[0]) == 0);
  BOOST_TEST(call(rt, a, &tracked::touch, std::string("a")) == 101);  // the writes were checkpointed
}

BOOST_AUTO_TEST_CASE(a_hibernated_actor_with_a_short_wal_keeps_it_for_its_next_instance) {
  // No checkpoint at close (it would sync the database file on the shard's
  // thread): the database file is left as it was, and the next instance
  // reads the WAL back.
  cairn::runtime rt(options());
  auto a = rt.register_namespace<tracked>("tracked").get("a");
  for (int i = 1; i <= 10; ++i) BOOST_TEST(call(rt, a, &tracked::touch, std::string("a")) == i);
  const auto dbs = files_ending(dir.path(), ".sqlite");
  const auto wals = files_ending(dir.path(), ".sqlite-wal");
  BOOST_REQUIRE(dbs.size() == 1);
  BOOST_REQUIRE(wals.size() == 1);
  const std::string db_before = contents(dbs[0]);
  const auto wal_before = std::filesystem::file_size(wals[0]);
  clock->advance(11s);
  sync(rt);
  BOOST_REQUIRE(gone == 1);
  BOOST_TEST(open_files_under(dbs[0].parent_path(), ".sqlite") == 0);
  BOOST_TEST((contents(dbs[0]) == db_before));
  BOOST_TEST(std::filesystem::file_size(wals[0]) == wal_before);
  BOOST_TEST(call(rt, a, &tracked::touch, std::string("a")) == 11);
  BOOST_TEST(made == 2);
  // Past the length a close leaves alone, the next hibernation checkpoints.
  for (int i = 12; i <= 100; ++i) BOOST_TEST(call(rt, a, &tracked::touch, std::string("a")) == i);
  clock->advance(11s);
  sync(rt);
  BOOST_REQUIRE(gone == 2);
  BOOST_TEST(std::filesystem::file_size(wals[0]) == 0);
  BOOST_TEST(call(rt, a, &tracked::touch, std::string("a")) == 101);
}

BOOST_AUTO_TEST_CASE(resident_cap_evicts_least_recently_used) {
  auto o = options();
  o.max_resident_actors = 2;
  cairn::runtime rt(o);
  auto ns = rt.register_namespace<tracked>("tracked");
  for (const char* n : {"a", "b", "c"}) call(rt, ns.get(n), &tracked::touch, std::string(n));
  sync(rt);
  BOOST_TEST(evicted == std::vector<std::string>{"a"});
  call(rt, ns.get("b"), &tracked::touch, std::string("b"));  // b is now more recent than c
  call(rt, ns.get("d"), &tracked::touch, std::string("d"));
  sync(rt);
  BOOST_TEST(evicted == (std::vector<std::string>{"a", "c"}));
  BOOST_TEST(call(rt, ns.get("a"), &tracked::touch, std::string("a")) == 2);
}

// Many actors going idle together hibernate a slice at a time: a call that
// arrives once the first is gone is answered before the last one goes (all
// in one go held up the shard, a JS actor taking about half a millisecond).
BOOST_AUTO_TEST_CASE(a_crowd_hibernates_in_slices_between_other_events) {
  constexpr int crowd = 600;
  auto o = options();
  {
    cairn::runtime maker(o);  // the crowd's files, made without hurry
    auto ns = maker.register_namespace<tracked>("tracked");
    maker.block_on([](auto ns) -> cairn::task<void> {
      for (int i = 0; i < crowd; ++i) co_await ns.get("c" + std::to_string(i)).call(&tracked::touch, std::string("c"));
    }(ns));
  }
  gone = 0;
  gone_seen = -1;
  o.clock = nullptr;  // a real clock: a manual one evicts all at once
  o.idle_timeout = 1s;
  cairn::runtime rt(o);
  auto ns = rt.register_namespace<tracked>("tracked");
  // The first eviction asks "other" how many have gone: a message queued on
  // the shard behind the hibernation that is running. Evicted all in one go,
  // the crowd would be gone by the time it is handled.
  on_first_gone = [other = ns.get("other")] { other.send(&tracked::see_gone); };
  // One-way messages, sent at once: the shard runs all of them in one pass and
  // commits them together, so the crowd goes idle at the same moment and is
  // due for hibernation at the same tick.
  const int before = touches.load();
  rt.block_on([](auto ns) -> cairn::task<void> {
    for (int i = 0; i < crowd; ++i) ns.get("c" + std::to_string(i)).send(&tracked::touch, std::string("c"));
    co_return;
  }(ns));
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (touches - before < crowd && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  // Resident on the same shard, and idle for the timeout only after the crowd.
  BOOST_TEST(call(rt, ns.get("other"), &tracked::touch, std::string("other")) == 1);
  while (gone < crowd && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  BOOST_TEST(gone >= crowd);  // all of them went
  while (gone_seen < 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  BOOST_TEST(gone_seen > 0);
  BOOST_TEST(gone_seen < crowd);  // and "other" ran between two slices
  on_first_gone = nullptr;
}

BOOST_AUTO_TEST_CASE(never_evicts_an_actor_with_a_pending_await) {
  cairn::runtime rt(options());
  auto a = rt.register_namespace<tracked>("tracked").get("a");
  call(rt, a, &tracked::touch, std::string("a"));
  std::promise<int> result;
  rt.spawn([](auto a, std::promise<int>& out) -> cairn::task<void> {
    out.set_value(co_await a.call(&tracked::wait_for_release));
  }(a, result));
  sync(rt);
  clock->advance(1h);
  sync(rt);
  BOOST_TEST(gone == 0);  // its handler is suspended: it stays
  call(rt, a, &tracked::release);
  BOOST_TEST(result.get_future().get() == 7);
  clock->advance(1h);
  sync(rt);
  BOOST_TEST(gone == 1);
}

BOOST_AUTO_TEST_CASE(open_database_budget_closes_idle_files_not_actors) {
  auto o = options();
  o.max_open_databases = 4;
  cairn::runtime rt(o);
  auto ns = rt.register_namespace<tracked>("tracked");
  for (int i = 0; i < 20; ++i) {
    const std::string n = "a" + std::to_string(i);
    BOOST_TEST(call(rt, ns.get(n), &tracked::touch, n) == 1);
    BOOST_TEST(open_files_under(dir.path(), ".sqlite") <= 4);
  }
  BOOST_TEST(open_files_under(dir.path(), ".sqlite") == 4);
  BOOST_TEST(gone == 0);  // the actors stay resident; only their files closed
  for (int i = 0; i < 20; ++i) {  // each reopens its file and sees its writes
    const std::string n = "a" + std::to_string(i);
    BOOST_TEST(call(rt, ns.get(n), &tracked::touch, n) == 2);
  }
  BOOST_TEST(open_files_under(dir.path(), ".sqlite") == 4);
  BOOST_TEST(made == 20);
}

// At the budget, the file closed is the least recently used idle actor's
// that is still open, also after actors whose files were closed come back
// (the scan starts after the idle actors known to hold no file).
BOOST_AUTO_TEST_CASE(open_database_budget_closes_the_least_recently_used_open_file) {
  auto o = options();
  o.max_open_databases = 4;
  cairn::runtime rt(o);
  auto ns = rt.register_namespace<tracked>("tracked");
  auto file_of = [&](int i) {
    std::string h;
    const auto id = ns.id_from_name("a" + std::to_string(i));  // value() refers into it
    for (unsigned char b : id.value()) {
      static constexpr char digits[] = "0123456789abcdef";
      h += digits[b >> 4];
      h += digits[b & 15];
    }
    return h + ".sqlite";
  };
  auto open_now = [&] {
    std::set<std::string> names;
    for (auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(fd.path(), ec);
      if (!ec && target.string().starts_with(dir.path().string()) && target.extension() == ".sqlite")
        names.insert(target.filename().string());
    }
    return names;
  };
  auto expect_open = [&](std::initializer_list<int> which) {
    std::set<std::string> want;
    for (int i : which) want.insert(file_of(i));
    BOOST_TEST((open_now() == want));
  };
  std::vector<int> count(12, 0);
  auto touch = [&](int i) {
    const std::string n = "a" + std::to_string(i);
    BOOST_TEST(call(rt, ns.get(n), &tracked::touch, n) == ++count[static_cast<std::size_t>(i)]);
  };
  for (int i = 0; i < 12; ++i) touch(i);
  expect_open({8, 9, 10, 11});
  touch(3);  // from the middle of the closed ones: a8 is the oldest open
  expect_open({9, 10, 11, 3});
  touch(8);  // the newest of the closed ones
  expect_open({10, 11, 3, 8});
  touch(0);
  expect_open({11, 3, 8, 0});
  touch(11);  // open already: nothing closes
  expect_open({11, 3, 8, 0});
  touch(5);
  expect_open({11, 8, 0, 5});
  for (int i = 0; i < 12; ++i) touch(i);  // each sees its writes
  expect_open({8, 9, 10, 11});
  BOOST_TEST(gone == 0);
}

BOOST_AUTO_TEST_CASE(default_database_budget_comes_from_the_descriptor_limit) {
  cairn::runtime rt(options(2));
  rt.start();
  rlimit lim{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
  BOOST_TEST(lim.rlim_cur == lim.rlim_max);  // start() raised the soft limit
  if (lim.rlim_max != RLIM_INFINITY)
    BOOST_TEST(rt.core().database_budget() == std::max<std::size_t>(16, lim.rlim_max / 6 / 2));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(alarms, fixture)

BOOST_AUTO_TEST_CASE(fires_once_when_due) {
  cairn::runtime rt(options());
  auto a = rt.register_namespace<alarmed>("alarmed").get("a");
  const auto t0 = clock->now();
  call(rt, a, &alarmed::set, t0 + 10s);
  BOOST_TEST((call(rt, a, &alarmed::get) == std::optional(t0 + 10s)));
  clock->advance(9s);
  BOOST_TEST(call(rt, a, &alarmed::fired) == 0);
  BOOST_TEST(attempts == 0);
  clock->advance(1s);
  BOOST_TEST(call(rt, a, &alarmed::fired) == 1);
  clock->advance(1h);
  BOOST_TEST(call(rt, a, &alarmed::fired) == 1);
  BOOST_TEST(!call(rt, a, &alarmed::get).has_value());
  BOOST_TEST(!infos.at(0).is_retry());
  BOOST_TEST((infos.at(0).scheduled_time == t0 + 10s));
}

BOOST_AUTO_TEST_CASE(retries_with_exponential_backoff_then_gives_up) {
  cairn::runtime rt(options());
  auto a = rt.register_namespace<alarmed>("alarmed").get("a");
  fail_alarms = true;
  call(rt, a, &alarmed::set, clock->now() + 1s);
  clock->advance(1s);
  (void)call(rt, a, &alarmed::get);  // handled after the alarm the tick delivered
  BOOST_TEST(attempts == 1);
  for (int retry = 1; retry <= 6; ++retry) {
    auto at = call(rt, a, &alarmed::get);
    BOOST_REQUIRE(at.has_value());
    const auto delay = *at - clock->now();
    const auto base = std::chrono::milliseconds(2000 << (retry - 1));
    BOOST_TEST((delay >= base && delay <= base + base / 4), "retry " << retry << " after " << std::chrono::duration_cast<std::chrono::milliseconds>(delay).count() << " ms");
    clock->set(*at - 1ms);
    (void)call(rt, a, &alarmed::get);  // handled after the alarm the tick delivered
    BOOST_TEST(attempts == retry);
    clock->set(*at);
    (void)call(rt, a, &alarmed::get);  // handled after the alarm the tick delivered
    BOOST_TEST(attempts == retry + 1);
    BOOST_TEST(infos.back().retry_count == static_cast<std::uint32_t>(retry));
    BOOST_TEST(infos.back().is_retry());
  }
  BOOST_TEST(!call(rt, a, &alarmed::get).has_value());  // 6 retries: given up
  clock->advance(24h);
  (void)call(rt, a, &alarmed::get);  // handled after the alarm the tick delivered
  BOOST_TEST(attempts == 7);
}

BOOST_AUTO_TEST_CASE(wakes_a_hibernated_actor) {
  cairn::runtime rt(options());
  auto a = rt.register_namespace<alarmed>("alarmed").get("a");
  call(rt, a, &alarmed::set, clock->now() + 60s);
  clock->advance(20s);
  sync(rt);
  BOOST_TEST(gone == 1);  // hibernated, alarm pending
  clock->advance(40s);
  BOOST_TEST(call(rt, a, &alarmed::fired) == 1);  // the tick delivered the alarm before this call
  BOOST_TEST(attempts == 1);
  BOOST_TEST(made == 2);
}

BOOST_AUTO_TEST_CASE(survives_a_restart) {
  std::chrono::system_clock::time_point due;
  {
    cairn::runtime rt(options(2));
    auto a = rt.register_namespace<alarmed>("alarmed").get("a");
    due = clock->now() + 30s;
    call(rt, a, &alarmed::set, due);
  }
  BOOST_TEST(attempts == 0);
  clock->set(due + 5s);  // the process was down when it fell due
  cairn::runtime rt(options(2));
  auto a = rt.register_namespace<alarmed>("alarmed").get("a");
  rt.start();
  // The alarm was handed to the actor's mailbox when its shard started, so
  // it runs before this call.
  BOOST_TEST(call(rt, a, &alarmed::fired) == 1);
  BOOST_TEST(attempts == 1);
}

BOOST_AUTO_TEST_SUITE_END()
