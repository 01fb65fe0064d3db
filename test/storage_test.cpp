// Per-actor storage: KV, SQL, limits, atomic turn segments, the output gate
// and failed commits, durability across restarts, bad files.
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cairn/cairn.hpp>
#include <cairn/storage.hpp>
#include <cairn/testing/fault_vfs.hpp>

#include "support.hpp"

namespace cairn {
inline std::ostream& operator<<(std::ostream& o, storage_error::reason r) { return o << "reason " << static_cast<int>(r); }
}  // namespace cairn

namespace {

using cairn::storage_error;
using reason = cairn::storage_error::reason;

std::atomic<int> constructed{0};
std::atomic<int> received{0};

struct sink : cairn::actor {
  void note(int) { ++received; }
};

// An actor with an on_start(): activating it runs code of its own.
struct starter : cairn::actor {
  cairn::task<void> on_start() { co_return; }
  void ping() {}
};

struct store : cairn::actor {
  store() { ++constructed; }
  std::int64_t incr(std::string key) {
    auto n = storage().get_as<std::int64_t>(key).value_or(0) + 1;
    storage().put(key, n);
    return n;
  }
  std::optional<std::int64_t> read(std::string key) { return storage().get_as<std::int64_t>(key); }
  void put_two_then_throw(std::string a, std::string b) {
    storage().put(a, 1);
    storage().put(b, 2);
    throw std::runtime_error("boom");
  }
  cairn::task<void> write_await_write_throw(std::string a, std::string b) {
    storage().put(a, 1);
    co_await cairn::sleep_for(std::chrono::milliseconds(1));  // the segment of a ends here
    storage().put(b, 2);
    throw std::runtime_error("boom");
  }
  void write_and_tell(cairn::actor_ref<sink> to) {
    storage().put("told", true);
    to.send(&sink::note, 1);
  }
  // Activates `fresh` (same shard: inline), then writes and sends.
  void wake_then_write_and_tell(cairn::actor_ref<starter> fresh, cairn::actor_ref<sink> to) {
    fresh.send(&starter::ping);
    write_and_tell(to);
  }
  // Writes after a resumption from the event loop, then leaves a plain Asio
  // callback that sends: that callback is no actor's code.
  cairn::task<void> write_then_post_a_send(cairn::actor_ref<sink> to) {
    co_await cairn::sleep_for(std::chrono::microseconds(1));
    storage().put("posted", true);
    boost::asio::post(cairn::detail::shard::current()->io(), [to] { to.send(&sink::note, 1); });
    co_await cairn::sleep_for(std::chrono::milliseconds(1));
  }
  std::vector<std::string> list_keys(cairn::list_options o) {
    std::vector<std::string> out;
    for (auto& [k, v] : storage().list(o)) out.push_back(k);
    return out;
  }
  void put_json(std::string k, std::string json_text) { storage().put(k, boost::json::parse(json_text)); }
  void put_bytes(std::string k, std::size_t n) { storage().put(k, cairn::blob(n, 7)); }
  std::string run_sql(std::string q) { return boost::json::serialize(storage().exec(q).to_json()); }
  storage_error::reason sql_error(std::string q) {
    try {
      (void)storage().exec(q);
    } catch (const storage_error& e) {
      return e.kind();
    }
    throw std::logic_error("no error");
  }
};

/// True if awaiting `f()` throws a storage_error of kind `k`.
template <class F>
cairn::task<bool> fails_with(reason k, F f) {
  bool hit = false;
  try {
    (void)co_await f();
  } catch (const storage_error& e) {
    hit = e.kind() == k;
  }
  co_return hit;
}

cairn::runtime_options opts(const cairn_test::temp_dir& dir, cairn::durability d = cairn::durability::full) {
  auto o = cairn_test::shards(2);
  o.data_dir = dir.path();
  o.durability = d;
  return o;
}

/// opts() on `shards` shards with the fault-injecting VFS, and quiet about the
/// failures the tests cause on purpose.
cairn::runtime_options fault_opts(const cairn_test::temp_dir& dir, unsigned shards) {
  auto o = opts(dir);
  o.shards = shards;
  o.sqlite_vfs = cairn::testing::install_fault_vfs();
  o.on_unhandled_error = [](std::exception_ptr, std::string_view) {};
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(storage)

BOOST_AUTO_TEST_CASE(kv_survives_restart_in_every_file_mode) {
  for (auto mode : {cairn::durability::full, cairn::durability::normal}) {
    cairn_test::temp_dir dir;
    {
      cairn::runtime rt(opts(dir, mode));
      auto ns = rt.register_namespace<store>("store");
      auto r = ns.get("a");
      BOOST_TEST(rt.block_on([](auto r) -> cairn::task<std::int64_t> {
        co_await r.call(&store::incr, std::string("n"));
        co_return co_await r.call(&store::incr, std::string("n"));
      }(r)) == 2);
    }
    cairn::runtime rt(opts(dir, mode));
    auto ns = rt.register_namespace<store>("store");
    auto v = rt.block_on([](auto r) -> cairn::task<std::optional<std::int64_t>> {
      co_return co_await r.call(&store::read, std::string("n"));
    }(ns.get("a")));
    BOOST_TEST(v.value_or(-1) == 2);
  }
}

// The name an actor's id was made from, as storage records it (JS actors'
// ctx.id.name uses it).
struct named : cairn::actor {
  std::optional<std::string> name() { return storage().id_name(); }
  std::string record(std::string n) {
    try {
      storage().record_id_name(n);
      return "ok";
    } catch (const storage_error& e) {
      return e.kind() == reason::invalid_argument ? std::string("refused: ") + e.what() : "other";
    }
  }
  void wipe() { storage().delete_all(); }
};

BOOST_AUTO_TEST_CASE(the_recorded_id_name_is_checked_and_survives_delete_all_and_restarts) {
  cairn_test::temp_dir dir;
  auto ask = [](cairn::runtime& rt, cairn::actor_ref<named> r) {
    return rt.block_on([](auto r) -> cairn::task<std::optional<std::string>> { co_return co_await r.call(&named::name); }(r));
  };
  {
    cairn::runtime rt(opts(dir));
    auto ns = rt.register_namespace<named>("named");
    BOOST_TEST(!ask(rt, ns.get("ivan")).has_value());
    BOOST_TEST(std::filesystem::is_empty(dir.path()));  // reading it created no database
    const std::string refused = rt.block_on(
        [](auto r) -> cairn::task<std::string> { co_return co_await r.call(&named::record, std::string("judy")); }(
            ns.get("ivan")));
    BOOST_TEST(refused.find("refused: cairn: 'judy' is not the name of named/") == 0);
    BOOST_TEST(!ask(rt, ns.get("ivan")).has_value());
    BOOST_TEST(rt.block_on([](auto r) -> cairn::task<std::string> {
      auto ok = co_await r.call(&named::record, std::string("ivan"));
      co_await r.call(&named::wipe);
      co_return ok;
    }(ns.get("ivan"))) == "ok");
  }
  cairn::runtime rt(opts(dir));
  auto ns = rt.register_namespace<named>("named");
  BOOST_TEST(ask(rt, ns.get("ivan")).value_or("none") == "ivan");
  // In memory too (reading makes no in-memory database either).
  cairn_test::temp_dir mem_dir;
  cairn::runtime mem(opts(mem_dir, cairn::durability::memory));
  auto mem_ns = mem.register_namespace<named>("named");
  BOOST_TEST(!ask(mem, mem_ns.get("kim")).has_value());
  BOOST_TEST(mem.block_on([](auto r) -> cairn::task<std::string> {
    co_return co_await r.call(&named::record, std::string("kim"));
  }(mem_ns.get("kim"))) == "ok");
  BOOST_TEST(ask(mem, mem_ns.get("kim")).value_or("none") == "kim");
}

// One runtime at a time owns a data directory (its commit log assumes no
// other writer): a second one, in this process too, is refused at start with
// the owner's pid; once the first has stopped the directory is free again.
BOOST_AUTO_TEST_CASE(a_data_directory_has_one_runtime_at_a_time) {
  cairn_test::temp_dir dir;
  auto incr = [](cairn::actor_ref<store> r) -> cairn::task<std::int64_t> {
    co_return co_await r.call(&store::incr, std::string("n"));
  };
  auto first = std::make_unique<cairn::runtime>(opts(dir));
  auto ns = first->register_namespace<store>("store");
  BOOST_TEST(first->block_on(incr(ns.get("x"))) == 1);
  {
    cairn::runtime second(opts(dir));
    second.register_namespace<store>("store");
    std::string what;
    try {
      second.start();
    } catch (const storage_error& e) {
      if (e.kind() == reason::unavailable) what = e.what();
    }
    BOOST_TEST(what == "cairn: the data directory " + dir.path().string() + " is in use by another runtime (process " +
                           std::to_string(::getpid()) + ")");
  }
  first.reset();
  cairn::runtime third(opts(dir));
  auto again = third.register_namespace<store>("store");
  BOOST_TEST(third.block_on(incr(again.get("x"))) == 2);
}

// Another program cannot open a live actor's database: SQLite's own locks see
// cairn's (storage/exclusive_vfs.hpp). It would read a WAL whose index lives
// in cairn's heap, and might checkpoint it away. Once the runtime has
// stopped, the file is an ordinary SQLite database.
BOOST_AUTO_TEST_CASE(a_live_database_is_locked_against_other_programs) {
  cairn_test::temp_dir dir;
  auto count_rows = [](const std::filesystem::path& file, int& rc) {
    sqlite3* db = nullptr;
    std::int64_t n = -1;
    rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM _cairn_kv", -1, &s, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      n = sqlite3_column_int64(s, 0);
      rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    sqlite3_close_v2(db);
    return n;
  };
  std::filesystem::path file;
  {
    cairn::runtime rt(opts(dir));
    auto ns = rt.register_namespace<store>("store");
    BOOST_TEST(rt.block_on([](auto r) -> cairn::task<std::int64_t> {
      co_return co_await r.call(&store::incr, std::string("n"));
    }(ns.get("x"))) == 1);
    for (auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
      if (e.path().extension() == ".sqlite" && e.path().filename().string().front() != '.') file = e.path();
    BOOST_REQUIRE(!file.empty());
    int rc = 0;
    BOOST_TEST(count_rows(file, rc) == -1);
    BOOST_TEST(rc == SQLITE_BUSY);
  }
  int rc = 0;
  BOOST_TEST(count_rows(file, rc) == 1);
  BOOST_TEST(rc == SQLITE_OK);
}

BOOST_AUTO_TEST_CASE(memory_mode_writes_no_files) {
  cairn_test::temp_dir dir;
  cairn::runtime rt(opts(dir, cairn::durability::memory));
  auto ns = rt.register_namespace<store>("store");
  auto n = rt.block_on([](auto r) -> cairn::task<std::int64_t> {
    co_await r.call(&store::incr, std::string("n"));
    co_return co_await r.call(&store::incr, std::string("n"));
  }(ns.get("m")));
  BOOST_TEST(n == 2);
  BOOST_TEST(std::filesystem::is_empty(dir.path()));
}

BOOST_AUTO_TEST_CASE(a_throw_commits_nothing_of_its_segment) {
  cairn_test::temp_dir dir;
  cairn::runtime rt(opts(dir));
  auto r = rt.register_namespace<store>("store").get("x");
  rt.block_on([](auto r) -> cairn::task<void> {
    BOOST_CHECK_THROW(co_await r.call(&store::put_two_then_throw, std::string("a"), std::string("b")),
                      std::runtime_error);
    auto a = co_await r.call(&store::read, std::string("a"));
    auto b = co_await r.call(&store::read, std::string("b"));
    BOOST_TEST(!a.has_value());
    BOOST_TEST(!b.has_value());
    // Only the segment that threw is undone: the one before the await stays.
    BOOST_CHECK_THROW(co_await r.call(&store::write_await_write_throw, std::string("c"), std::string("d")),
                      std::runtime_error);
    auto c = co_await r.call(&store::read, std::string("c"));
    auto d = co_await r.call(&store::read, std::string("d"));
    BOOST_TEST(c.value_or(0) == 1);
    BOOST_TEST(!d.has_value());
  }(r));
}

BOOST_AUTO_TEST_CASE(failed_commit_voids_output_and_resets_the_actor) {
  cairn_test::temp_dir dir;
  cairn::runtime rt(fault_opts(dir, 2));
  auto stores = rt.register_namespace<store>("store");
  auto sinks = rt.register_namespace<sink>("sink");
  auto r = stores.get("g");
  auto other = stores.get("other");
  constructed = 0;
  received = 0;
  rt.block_on([](auto r, auto other, auto s) -> cairn::task<void> {
    BOOST_TEST(co_await r.call(&store::incr, std::string("n")) == 1);
    const int before = constructed;
    BOOST_TEST(before == 1);  // one instance, on its own shard only
    cairn::testing::fail_writes(true);
    // The reply would say 2, but its write never commits.
    bool failed = co_await fails_with(reason::commit_failed, [r] { return r.call(&store::incr, std::string("n")); });
    BOOST_TEST(failed);
    // A message sent after a write that never committed is never delivered.
    BOOST_CHECK_THROW(co_await r.call(&store::write_and_tell, s), storage_error);
    cairn::testing::fail_writes(false);
    BOOST_TEST(received == 0);
    // The actor starts again from what was committed; the others never stopped.
    auto n = co_await r.call(&store::read, std::string("n"));
    BOOST_TEST(n.value_or(-1) == 1);
    BOOST_TEST(constructed == before + 2);  // a fresh instance after each of the two failed commits
    BOOST_TEST(co_await other.call(&store::incr, std::string("n")) == 1);
    co_await r.call(&store::write_and_tell, s);
  }(r, other, sinks.get("s")));
  rt.stop();
  rt.run();
  BOOST_TEST(received == 1);
}

// Regression: activating an actor whose on_start() runs inline left that
// actor as the current one, so the sender's later output escaped its gate.
BOOST_AUTO_TEST_CASE(output_after_activating_another_actor_is_still_gated) {
  cairn_test::temp_dir dir;
  cairn::runtime rt(fault_opts(dir, 1));  // one shard: every delivery inline
  auto stores = rt.register_namespace<store>("store");
  auto starters = rt.register_namespace<starter>("starter");
  auto sinks = rt.register_namespace<sink>("sink");
  received = 0;
  rt.block_on([](auto r, auto fresh, auto s) -> cairn::task<void> {
    co_await r.call(&store::incr, std::string("n"));  // the database exists
    cairn::testing::fail_writes(true);
    bool failed = co_await fails_with(reason::commit_failed,
                                      [&] { return r.call(&store::wake_then_write_and_tell, fresh, s); });
    cairn::testing::fail_writes(false);
    BOOST_TEST(failed);
  }(stores.get("w"), starters.get("fresh"), sinks.get("s")));
  rt.stop();
  rt.run();
  BOOST_TEST(received == 0);
}

// Regression: a coroutine resumed from the event loop left its actor current,
// so a later plain Asio callback's send was held (and here dropped) by that
// actor's gate.
BOOST_AUTO_TEST_CASE(a_plain_asio_callback_is_no_actors_output) {
  cairn_test::temp_dir dir;
  cairn::runtime rt(fault_opts(dir, 1));
  auto stores = rt.register_namespace<store>("store");
  auto sinks = rt.register_namespace<sink>("sink");
  received = 0;
  rt.block_on([](auto r, auto s) -> cairn::task<void> {
    co_await r.call(&store::incr, std::string("n"));  // the database exists
    co_await s.call(&sink::note, 0);                  // the sink is resident
    received = 0;
    cairn::testing::fail_writes(true);
    bool failed = co_await fails_with(reason::commit_failed, [&] { return r.call(&store::write_then_post_a_send, s); });
    cairn::testing::fail_writes(false);
    BOOST_TEST(failed);
  }(stores.get("w"), sinks.get("s")));
  rt.stop();
  rt.run();
  BOOST_TEST(received == 1);  // the callback's message went out: it was never the actor's
}

BOOST_AUTO_TEST_CASE(list_orders_by_bytes_and_honours_bounds) {
  cairn::runtime rt(cairn_test::shards(1));
  auto r = rt.register_namespace<store>("store", {cairn::durability::memory}).get("l");
  rt.block_on([](auto r) -> cairn::task<void> {
    for (std::string k : std::vector<std::string>{"b", "a", "ba", "bb", "c", "b\xff", "bz"}) co_await r.call(&store::incr, k);
    using v = std::vector<std::string>;
    // A temporary on purpose: GCC 12 mis-copied it while list_options was an
    // aggregate (storage.hpp).
    auto all = co_await r.call(&store::list_keys, cairn::list_options{});
    BOOST_TEST(all == (v{"a", "b", "ba", "bb", "bz", "b\xff", "c"}));
    cairn::list_options o;
    o.prefix = "b";
    {
      auto got1 = co_await r.call(&store::list_keys, o);
      BOOST_TEST(got1 == (v{"b", "ba", "bb", "bz", "b\xff"}));
    }
    o.reverse = true;
    o.limit = 2;
    {
      auto got2 = co_await r.call(&store::list_keys, o);
      BOOST_TEST(got2 == (v{"b\xff", "bz"}));
    }
    cairn::list_options range;
    range.start = "b";
    range.end = "bz";
    {
      auto got3 = co_await r.call(&store::list_keys, range);
      BOOST_TEST(got3 == (v{"b", "ba", "bb"}));
    }
    range.start.reset();
    range.start_after = "b";
    {
      auto got4 = co_await r.call(&store::list_keys, range);
      BOOST_TEST(got4 == (v{"ba", "bb"}));
    }
    range.start = "a";
    BOOST_CHECK_THROW(co_await r.call(&store::list_keys, range), storage_error);
  }(r));
}

BOOST_AUTO_TEST_CASE(json_bytes_batches_and_limits) {
  cairn::runtime rt(cairn_test::shards(1));
  auto r = rt.register_namespace<store>("store", {cairn::durability::memory}).get("j");
  rt.block_on([](auto r) -> cairn::task<void> {
    co_await r.call(&store::put_json, std::string("doc"), std::string(R"({"a":[1,2,{"b":null}]})"));
    co_await r.call(&store::put_bytes, std::string("raw"), std::size_t(1000));
    BOOST_CHECK_THROW(co_await r.call(&store::read, std::string("doc")), storage_error);  // not an integer
    bool limit = co_await fails_with(reason::limit_exceeded, [r] {
      return r.call(&store::put_bytes, std::string("big"), cairn::storage_limits::max_key_and_value);
    });
    BOOST_TEST(limit);
    co_await r.call(&store::put_bytes, std::string("fits"), cairn::storage_limits::max_key_and_value - 4);
  }(r));
}

struct batcher : cairn::actor {
  std::size_t batch(std::size_t n, bool poison) {
    std::vector<std::pair<std::string, cairn::kv_value>> entries;
    for (std::size_t i = 0; i < n; ++i) entries.emplace_back("k" + std::to_string(i), static_cast<std::int64_t>(i));
    if (poison) entries.emplace_back("huge", cairn::blob(cairn::storage_limits::max_key_and_value + 1));
    storage().put(entries);
    std::vector<std::string> keys;
    for (auto& e : entries) keys.push_back(e.first);
    return storage().get(std::span<const std::string>(keys.data(), std::min<std::size_t>(keys.size(), 128))).size();
  }
  std::size_t count() { return storage().list().size(); }
  std::int64_t in_transaction(bool fail) {
    storage().put("outer", 1);
    try {
      storage().transaction([&] {
        storage().put("inner", 2);
        if (fail) throw std::runtime_error("undo inner");
      });
    } catch (const std::runtime_error&) {
    }
    return storage().get_as<std::int64_t>("inner").value_or(0) + storage().get_as<std::int64_t>("outer").value_or(0);
  }
};

BOOST_AUTO_TEST_CASE(batches_are_all_or_nothing_and_bounded) {
  cairn::runtime rt(cairn_test::shards(1));
  auto b = rt.register_namespace<batcher>("batcher", {cairn::durability::memory});
  rt.block_on([](auto r) -> cairn::task<void> {
    BOOST_TEST(co_await r.call(&batcher::batch, std::size_t(128), false) == 128u);
    BOOST_CHECK_THROW(co_await r.call(&batcher::batch, std::size_t(129), false), storage_error);
    BOOST_CHECK_THROW(co_await r.call(&batcher::batch, std::size_t(3), true), storage_error);
    BOOST_TEST(co_await r.call(&batcher::count) == 128u);
    BOOST_TEST(co_await r.call(&batcher::in_transaction, true) == 1);
    BOOST_TEST(co_await r.call(&batcher::in_transaction, false) == 3);
  }(b.get("b")));
}

BOOST_AUTO_TEST_CASE(sql_cursors_and_refused_statements) {
  cairn::runtime rt(cairn_test::shards(1));
  struct sql_actor : cairn::actor {
    std::string run() {
      auto& s = storage();
      s.exec("CREATE TABLE users(name TEXT, age INTEGER, photo BLOB)");
      auto ins = s.exec("INSERT INTO users VALUES (?, ?, ?), (?, ?, ?)", "ann", 31, cairn::blob{1, 2}, "bob", 25,
                        nullptr);
      if (ins.rows_written() != 2) throw std::logic_error("rows_written");
      auto c = s.exec("SELECT name, age FROM users WHERE age > ? ORDER BY age", 20);
      if (c.column_names() != std::vector<std::string>{"name", "age"}) throw std::logic_error("columns");
      if (c.rows_read() != 2 || c.size() != 2) throw std::logic_error("rows_read");
      if (std::get<std::int64_t>(c.at(1, "age")) != 31) throw std::logic_error("at");
      auto one = s.exec("SELECT count(*) AS n FROM users").one();
      if (one.at("n").as_int64() != 2) throw std::logic_error("one");
      if (s.database_size() == 0) throw std::logic_error("size");
      if (s.exec("PRAGMA table_info(users)").size() != 3) throw std::logic_error("a harmless pragma is allowed");
      bool one_threw = false;
      try {
        (void)c.one();
      } catch (const cairn::storage_error&) {
        one_threw = true;
      }
      if (!one_threw) throw std::logic_error("one() on two rows");
      return boost::json::serialize(c.to_json());
    }
    cairn::storage_error::reason refused(std::string q, int params) {
      try {
        if (params == 0) (void)storage().exec(q);
        else {
          std::vector<cairn::sql_value> v(static_cast<std::size_t>(params), std::int64_t{1});
          (void)storage().exec_values(q, v);
        }
      } catch (const cairn::storage_error& e) {
        return e.kind();
      }
      throw std::logic_error("accepted: " + q);
    }
  };
  auto ns = rt.register_namespace<sql_actor>("sql", {cairn::durability::memory});
  rt.block_on([](auto r) -> cairn::task<void> {
    BOOST_TEST(co_await r.call(&sql_actor::run) == R"([{"name":"bob","age":25},{"name":"ann","age":31}])");
    for (const char* q : {"BEGIN", "COMMIT", "SAVEPOINT x", "ROLLBACK", "ATTACH DATABASE ':memory:' AS other",
                          "PRAGMA journal_mode=DELETE", "PRAGMA synchronous=OFF", "SELECT * FROM _cairn_kv",
                          "DROP TABLE _cairn_alarm", "UPDATE _cairn_name SET name = 'x'"})
      {
        auto got5 = co_await r.call(&sql_actor::refused, std::string(q), 0);
        BOOST_TEST(got5 == reason::refused_statement, q);
      }
    {
      auto got6 = co_await r.call(&sql_actor::refused, std::string("SELEC 1"), 0);
      BOOST_TEST(got6 == reason::sql);
    }
    {
      auto got7 = co_await r.call(&sql_actor::refused, std::string("INSERT INTO nope VALUES (1)"), 0);
      BOOST_TEST(got7 == reason::sql);
    }
    {
      auto got8 = co_await r.call(&sql_actor::refused, "SELECT '" + std::string(100 * 1024, 'x') + "'", 0);
      BOOST_TEST(got8 == reason::limit_exceeded);
    }
    std::string many = "SELECT ?";
    for (int i = 1; i < 101; ++i) many += ", ?";
    {
      auto got9 = co_await r.call(&sql_actor::refused, many, 101);
      BOOST_TEST(got9 == reason::limit_exceeded);
    }
    {
      auto got10 = co_await r.call(&sql_actor::refused, std::string("SELECT ?, ?"), 1);
      BOOST_TEST(got10 == reason::invalid_argument);
    }
  }(ns.get("s")));
}

/// Where the database of store actor `name` lives under a data directory:
/// found by touching it in a scratch runtime.
std::filesystem::path database_file_of(const std::string& name) {
  cairn_test::temp_dir probe;
  {
    cairn::runtime p(opts(probe));
    auto pns = p.register_namespace<store>("store");
    p.block_on([](auto r) -> cairn::task<void> { co_await r.call(&store::incr, std::string("n")); }(pns.get(name)));
  }
  std::filesystem::path rel;
  for (auto& e : std::filesystem::recursive_directory_iterator(probe.path()))
    if (e.path().extension() == ".sqlite" && e.path().filename() != ".cairn-alarms.sqlite")
      rel = std::filesystem::relative(e.path(), probe.path());
  BOOST_REQUIRE(!rel.empty());
  return rel;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A new actor's file is written from an image SQLite made, already in WAL
// mode; an empty file (what a crash can leave of one) becomes a new database.
// Databases made before the layout lost its second level of folders
// (ns/ab/cd/<hex>.sqlite) are found where they are; new ones go to
// ns/ab/<hex>.sqlite.
BOOST_AUTO_TEST_CASE(a_database_in_the_older_two_level_layout_is_found_where_it_is) {
  namespace fs = std::filesystem;
  cairn_test::temp_dir dir;
  auto incr = [&](const char* name) {
    cairn::runtime rt(opts(dir));
    auto ns = rt.register_namespace<store>("store");
    return rt.block_on([](auto r) -> cairn::task<std::int64_t> { co_return co_await r.call(&store::incr, std::string("n")); }(ns.get(name)));
  };
  auto databases = [&] {
    std::vector<fs::path> out;
    for (auto& e : fs::recursive_directory_iterator(dir.path() / "store"))
      if (e.is_regular_file() && e.path().extension() == ".sqlite") out.push_back(e.path());
    return out;
  };
  BOOST_TEST(incr("old") == 1);
  const auto first = databases();
  BOOST_REQUIRE_EQUAL(first.size(), 1u);
  const fs::path old_file = first[0];
  BOOST_TEST(incr("new") == 1);
  BOOST_TEST(databases().size() == 2u);
  for (auto& f : databases()) BOOST_TEST(f.parent_path().parent_path() == dir.path() / "store");  // one level down
  const std::string h = old_file.stem().string();
  const fs::path deeper = dir.path() / "store" / h.substr(0, 2) / h.substr(2, 2) / old_file.filename();
  fs::create_directories(deeper.parent_path());
  fs::rename(old_file, deeper);
  fs::rename(old_file.string() + "-wal", deeper.string() + "-wal");
  BOOST_TEST(incr("old") == 2);  // found in the older place, not made anew
  BOOST_TEST(!fs::exists(old_file));
  BOOST_TEST(fs::exists(deeper));
}

BOOST_AUTO_TEST_CASE(new_databases_start_in_wal_mode_and_an_empty_file_is_a_new_one) {
  cairn_test::temp_dir dir;
  const auto empty_rel = database_file_of("empty");
  std::filesystem::create_directories((dir.path() / empty_rel).parent_path());
  { std::ofstream(dir.path() / empty_rel, std::ios::binary); }
  {
    cairn::runtime rt(opts(dir));
    auto ns = rt.register_namespace<store>("store");
    rt.block_on([](auto fresh, auto empty) -> cairn::task<void> {
      BOOST_TEST(co_await fresh.call(&store::incr, std::string("n")) == 1);
      BOOST_TEST(co_await fresh.call(&store::incr, std::string("n")) == 2);
      BOOST_TEST(co_await fresh.call(&store::run_sql, std::string("PRAGMA integrity_check")) ==
                 R"([{"integrity_check":"ok"}])");
      BOOST_TEST(co_await empty.call(&store::incr, std::string("n")) == 1);
    }(ns.get("fresh"), ns.get("empty")));
  }
  for (const auto& rel : {database_file_of("fresh"), empty_rel}) {
    const std::string head = read_all(dir.path() / rel).substr(0, 20);
    BOOST_REQUIRE(head.size() == 20);
    BOOST_TEST(head.substr(0, 16) == std::string("SQLite format 3\0", 16));
    BOOST_TEST(int(head[18]) == 2);  // the file format's write and read versions: WAL
    BOOST_TEST(int(head[19]) == 2);
  }
  cairn::runtime rt(opts(dir));
  auto ns = rt.register_namespace<store>("store");
  rt.block_on([](auto fresh, auto empty) -> cairn::task<void> {
    auto f = co_await fresh.call(&store::read, std::string("n"));
    auto e = co_await empty.call(&store::read, std::string("n"));
    BOOST_TEST(f.value_or(-1) == 2);
    BOOST_TEST(e.value_or(-1) == 1);
  }(ns.get("fresh"), ns.get("empty")));
}

BOOST_AUTO_TEST_CASE(bad_files_give_clear_errors_and_lose_nothing) {
  cairn_test::temp_dir dir;
  auto o = opts(dir);
  cairn::runtime rt(o);
  auto ns = rt.register_namespace<store>("store");
  auto bad = ns.get("corrupt");
  // A file of garbage where the actor's database should be.
  std::string garbage(8192, 'Z');
  rt.block_on([](auto r) -> cairn::task<void> { co_await r.call(&store::incr, std::string("n")); }(ns.get("warm")));
  const auto rel = database_file_of("corrupt");
  std::filesystem::create_directories((dir.path() / rel).parent_path());
  { std::ofstream(dir.path() / rel, std::ios::binary) << garbage; }
  rt.block_on([](auto bad, auto good) -> cairn::task<void> {
    bool io = co_await fails_with(reason::io, [bad] { return bad.call(&store::incr, std::string("n")); });
    BOOST_TEST(io);
    BOOST_TEST(co_await good.call(&store::incr, std::string("n")) == 2);  // everyone else keeps serving
  }(bad, ns.get("warm")));
  BOOST_TEST((read_all(dir.path() / rel) == garbage));  // the bad file is left as it was
}

BOOST_AUTO_TEST_CASE(unusable_data_directory_is_a_clear_error) {
  cairn_test::temp_dir dir;
  { std::ofstream(dir.path() / "file") << "x"; }
  auto o = opts(dir);
  o.data_dir = dir.path() / "file" / "sub";  // a path through a regular file: nothing can be created there
  cairn::runtime rt(o);
  auto ns = rt.register_namespace<store>("store");
  auto mem = rt.register_namespace<store>("mem", {cairn::durability::memory});
  rt.block_on([](auto r, auto m) -> cairn::task<void> {
    bool io = co_await fails_with(reason::io, [r] { return r.call(&store::incr, std::string("n")); });
    BOOST_TEST(io);
    BOOST_TEST(co_await m.call(&store::incr, std::string("n")) == 1);  // the rest keeps serving
  }(ns.get("x"), mem.get("y")));
}

// A data directory the process may read but not write (as root, the check
// runs in a child that drops to the unprivileged user "nobody"; root ignores
// file modes). Writes and new actors get io errors; nothing committed is lost.
BOOST_AUTO_TEST_CASE(read_only_data_directory_is_a_clear_error_and_loses_nothing) {
  namespace fs = std::filesystem;
  cairn_test::temp_dir dir;
  {
    cairn::runtime rt(opts(dir));
    auto ns = rt.register_namespace<store>("store");
    rt.block_on([](auto r) -> cairn::task<void> { co_await r.call(&store::incr, std::string("n")); }(ns.get("x")));
  }
  auto set_modes = [&](fs::perms dirs, fs::perms files) {
    fs::permissions(dir.path(), dirs);
    for (auto& e : fs::recursive_directory_iterator(dir.path()))
      fs::permissions(e.path(), e.is_directory() ? dirs : files);
  };
  const auto rx = fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec |
                  fs::perms::others_read | fs::perms::others_exec;
  const auto r = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
  set_modes(rx, r);

  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child reports by exit status only: 0 = as expected.
    int status = 10;
    if (::getuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(9);
    try {
      cairn::runtime rt(opts(dir));
      auto ns = rt.register_namespace<store>("store");
      auto mem = rt.register_namespace<store>("mem", {cairn::durability::memory});
      status = rt.block_on([](auto old_actor, auto new_actor, auto m) -> cairn::task<int> {
        if (!co_await fails_with(reason::io, [&] { return old_actor.call(&store::incr, std::string("n")); })) co_return 1;
        if (!co_await fails_with(reason::io, [&] { return new_actor.call(&store::incr, std::string("n")); })) co_return 2;
        if (co_await m.call(&store::incr, std::string("n")) != 1) co_return 3;  // the rest keeps serving
        co_return 0;
      }(ns.get("x"), ns.get("fresh"), mem.get("m")));
    } catch (...) {
      status = 11;
    }
    ::_exit(status);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  set_modes(fs::perms::owner_all | rx, fs::perms::owner_read | fs::perms::owner_write | r);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "the read-only check failed with status " << WEXITSTATUS(status));

  cairn::runtime rt(opts(dir));
  auto ns = rt.register_namespace<store>("store");
  auto n = rt.block_on([](auto r) -> cairn::task<std::optional<std::int64_t>> {
    co_return co_await r.call(&store::read, std::string("n"));
  }(ns.get("x")));
  BOOST_TEST(n.value_or(-1) == 1);  // nothing committed was lost
}

BOOST_AUTO_TEST_CASE(no_data_directory_is_a_clear_error) {
  cairn::runtime rt(cairn_test::shards(1));
  auto ns = rt.register_namespace<store>("store");
  rt.block_on([](auto r) -> cairn::task<void> {
    bool unavailable =
        co_await fails_with(reason::unavailable, [r] { return r.call(&store::incr, std::string("n")); });
    BOOST_TEST(unavailable);
  }(ns.get("x")));
}

BOOST_AUTO_TEST_SUITE_END()
