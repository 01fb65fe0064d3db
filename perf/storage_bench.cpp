// Storage benchmarks: cairn's per-actor SQLite storage against raw SQLite
// doing the same statements without cairn, measured in one process. The two
// sides alternate run by run; each runs at least --min-seconds in total and
// at least 3 times, and the figure reported is the MEDIAN of the per-run
// rates (ops per second). Prints a table and writes the same as JSON.
//
//   perf/storage_bench [--min-seconds S] [--json FILE] [--only NAME] [--dir PATH] [--verbose]
//                      [--shards N] [--side cairn|raw] [--idle-spin-us US]
//
// --dir is the scratch data directory (default: a fresh folder under /tmp,
// removed at exit); every run works in its own subfolder and removes it.
//
// Diagnostics, run only when --only names them (not in the default table):
// diag_same_shard_counter_normal is hot_counter_normal with the caller on the
// actor's own shard (no thread hop); diag_noop_call_hop calls a handler
// without storage from the other shard (cairn column) and from the same shard
// (raw column, inline). --idle-spin-us sets runtime_options::idle_spin (how
// long an idle shard polls before it sleeps in the kernel).
//
// What the raw peer does: one SQLite connection per database with
// locking_mode=EXCLUSIVE, journal_mode=WAL and synchronous=NORMAL or FULL (the
// pragmas cairn sets), a table kv(key BLOB PRIMARY KEY, value BLOB, is_bytes
// INTEGER) WITHOUT ROWID, prepared statements reused, values stored as the
// JSON text of the number (as cairn does), and every write in autocommit (one
// transaction per write: what a naive program does).
#include <sqlite3.h>
#include <sys/resource.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <cairn/cairn.hpp>
#include <cairn/durability.hpp>
#include <cairn/storage.hpp>

namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct settings {
  double min_seconds = 0.5;
  unsigned shards = 2;  // cairn shards; the raw peers of the many-database benchmarks use as many threads
  fs::path dir;         // scratch root
  std::uint64_t file_limit = 0;  // RLIMIT_NOFILE (soft) after raising it
  std::optional<std::chrono::microseconds> idle_spin;  // diagnostics: runtime_options::idle_spin
};

struct run_result {
  std::uint64_t ops = 0;
  double seconds = 0;
  [[nodiscard]] double rate() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// A fresh subfolder of the scratch root for one run, removed when it goes.
class scratch {
 public:
  scratch(const settings& s, std::string_view tag) {
    static std::atomic<unsigned> next{0};
    path_ = s.dir / (std::string(tag) + "-" + std::to_string(next++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// ---- raw SQLite ---------------------------------------------------------------------

[[noreturn]] void sqlite_fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error("raw sqlite: " + what + ": " + (db ? sqlite3_errmsg(db) : "?"));
}

/// One database as a naive program uses it: open, the pragmas cairn sets, the
/// table, two prepared statements; every put() is its own transaction.
class raw_db {
 public:
  raw_db(const fs::path& file, cairn::durability d) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      throw std::runtime_error("raw sqlite: cannot open " + file.string() + ": " + msg);
    }
    try {
      exec("PRAGMA locking_mode=EXCLUSIVE");
      exec("PRAGMA journal_mode=WAL");
      exec(d == cairn::durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      exec("CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB, is_bytes INTEGER) WITHOUT ROWID");
      get_ = prepare("SELECT value, is_bytes FROM kv WHERE key = ?");
      put_ = prepare("INSERT OR REPLACE INTO kv(key, value, is_bytes) VALUES (?, ?, ?)");
    } catch (...) {
      close();
      throw;
    }
  }
  ~raw_db() { close(); }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  std::optional<std::int64_t> get(std::string_view key) {
    sqlite3_bind_blob(get_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    int rc = sqlite3_step(get_);
    std::optional<std::int64_t> out;
    if (rc == SQLITE_ROW) {
      const char* p = static_cast<const char*>(sqlite3_column_blob(get_, 0));
      int n = sqlite3_column_bytes(get_, 0);
      std::int64_t v = 0;
      if (!p || std::from_chars(p, p + n, v).ec != std::errc()) {
        sqlite3_reset(get_);
        throw std::runtime_error("raw sqlite: a stored value is not a number");
      }
      out = v;
      rc = SQLITE_DONE;
    }
    sqlite3_reset(get_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, "SELECT");
    return out;
  }

  void put(std::string_view key, std::int64_t value) {
    char text[24];
    auto end = std::to_chars(text, text + sizeof text, value).ptr;  // the JSON text of the number
    sqlite3_bind_blob(put_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    sqlite3_bind_blob(put_, 2, text, static_cast<int>(end - text), SQLITE_STATIC);
    sqlite3_bind_int(put_, 3, 0);
    int rc = sqlite3_step(put_);
    sqlite3_reset(put_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, "INSERT OR REPLACE");
  }

  /// SELECT then INSERT OR REPLACE in autocommit.
  std::int64_t increment(std::string_view key) {
    std::int64_t n = get(key).value_or(0) + 1;
    put(key, n);
    return n;
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) sqlite_fail(db_, sql);
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) sqlite_fail(db_, sql);
    return s;
  }
  void close() noexcept {
    sqlite3_finalize(get_);
    sqlite3_finalize(put_);
    get_ = put_ = nullptr;
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
};

/// Runs f(i) for i in [0, threads) on that many threads and waits; rethrows
/// the first failure.
void on_threads(unsigned threads, const std::function<void(unsigned)>& f) {
  std::vector<std::future<void>> done;
  for (unsigned t = 0; t < threads; ++t) done.push_back(std::async(std::launch::async, f, t));
  for (auto& d : done) d.get();
}

// ---- cairn actors --------------------------------------------------------------------

class counter_actor : public cairn::actor {
 public:
  std::int64_t inc() {
    auto n = storage().get_as<std::int64_t>("n").value_or(0);
    storage().put("n", n + 1);
    return n + 1;
  }
  std::int64_t value() { return storage().get_as<std::int64_t>("n").value_or(0); }
};

std::atomic<std::uint64_t> reader_made{0};

// Opens its storage in its first handler and reads one key there. Not in
// on_start(): an activation that runs on_start() inline (a call from the same
// shard) leaves cairn::detail::current_actor pointing at the new actor after
// the caller suspends (src/shard.cpp, start_actor), and the callers here then
// resume with a dangling current_actor once that actor hibernates.
class reader_actor : public cairn::actor {
 public:
  reader_actor() { reader_made.fetch_add(1, std::memory_order_relaxed); }
  std::int64_t read() {
    if (!value_) value_ = storage().get_as<std::int64_t>("n").value_or(-1);
    return *value_;
  }
  std::int64_t write(std::int64_t v) {
    storage().put("n", v);
    return v;
  }

 private:
  std::optional<std::int64_t> value_;
};

std::atomic<std::uint64_t> small_made{0};

class small_actor : public cairn::actor {
 public:
  small_actor() { small_made.fetch_add(1, std::memory_order_relaxed); }
  int touch() { return ++n_; }

 private:
  int n_ = 0;
};

cairn::runtime_options runtime_options_for(const settings& s, const fs::path& data, cairn::durability d,
                                           std::size_t max_resident = 0) {
  cairn::runtime_options o;
  o.shards = s.shards;
  o.data_dir = data;
  o.durability = d;
  o.max_resident_actors = max_resident;
  o.idle_timeout = std::chrono::hours(1);  // hibernation only by the cap, not by the clock
  if (s.idle_spin) o.idle_spin = *s.idle_spin;
  return o;
}

/// Runs make(shard) on every shard at once (a root task each) and waits.
void on_every_shard(cairn::runtime& rt, const std::function<cairn::task<void>(unsigned)>& make) {
  const unsigned n = rt.shard_count();
  std::vector<std::promise<void>> done(n);
  std::vector<std::future<void>> futures;
  for (auto& d : done) futures.push_back(d.get_future());
  for (unsigned s = 0; s < n; ++s) {
    rt.spawn(
        [](cairn::task<void> t, std::promise<void>& p) -> cairn::task<void> {
          try {
            co_await std::move(t);
            p.set_value();
          } catch (...) {
            p.set_exception(std::current_exception());
          }
        }(make(s), done[s]),
        s);
  }
  for (auto& f : futures) f.get();
}

/// `callers` concurrent tasks that together call f on each element of items once.
template <class T, class F>
cairn::task<void> fan_out(const std::vector<T>& items, unsigned callers, F f) {
  std::size_t next = 0;  // shared by the callers: they all run on this shard
  std::vector<cairn::task<void>> tasks;
  for (unsigned c = 0; c < callers; ++c) {
    tasks.push_back([](const std::vector<T>& items, std::size_t& next, F& f) -> cairn::task<void> {
      while (next < items.size()) co_await f(items[next++]);
    }(items, next, f));
  }
  co_await cairn::when_all(std::move(tasks));
}

/// The ids of `n` fresh actors of `ns`, grouped by the shard they live on.
template <class T>
std::vector<std::vector<cairn::actor_id>> ids_by_shard(cairn::runtime& rt, const cairn::actor_namespace<T>& ns,
                                                       std::size_t n) {
  std::vector<std::vector<cairn::actor_id>> out(rt.shard_count());
  for (std::size_t i = 0; i < n; ++i) {
    auto id = ns.id_from_name("a" + std::to_string(i));
    out[rt.shard_of(id)].push_back(id);
  }
  return out;
}

// ---- 1-3: one hot counter --------------------------------------------------------------

cairn::task<std::uint64_t> hot_caller(cairn::actor_ref<counter_actor> ref, clock_type::time_point deadline) {
  std::uint64_t n = 0;
  while (clock_type::now() < deadline) {
    co_await ref.call(&counter_actor::inc);
    ++n;
  }
  co_return n;
}

run_result cairn_hot_counter(const settings& s, cairn::durability d, unsigned callers, bool same_shard = false) {
  scratch dir(s, "cairn-hot");
  cairn::runtime rt(runtime_options_for(s, dir.path(), d));
  auto ns = rt.register_namespace<counter_actor>("counter", {d});
  auto ref = ns.get("hot");
  // The caller(s) on the other shard than the actor: every call crosses shards
  // (same_shard, a diagnostic: on the actor's own shard, no thread hop).
  const unsigned caller_shard = same_shard ? rt.shard_of(ref.id()) : (rt.shard_of(ref.id()) + 1) % rt.shard_count();
  // Untimed: the first call opens (creates) the database.
  rt.block_on(cairn::as_task(ref.call(&counter_actor::inc)), caller_shard);
  const double run_seconds = s.min_seconds / 3;
  run_result r = rt.block_on(
      [](cairn::actor_ref<counter_actor> ref, unsigned callers, double run_seconds) -> cairn::task<run_result> {
        auto t0 = clock_type::now();
        auto deadline = t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(run_seconds));
        std::vector<cairn::task<std::uint64_t>> tasks;
        for (unsigned c = 0; c < callers; ++c) tasks.push_back(hot_caller(ref, deadline));
        auto counts = co_await cairn::when_all(std::move(tasks));
        run_result r;
        r.seconds = seconds_since(t0);
        for (auto n : counts) r.ops += n;
        co_return r;
      }(ref, callers, run_seconds),
      caller_shard);
  auto total = rt.block_on(cairn::as_task(ref.call(&counter_actor::value)), caller_shard);
  if (static_cast<std::uint64_t>(total) != r.ops + 1) throw std::runtime_error("hot counter: wrong total (cairn)");
  return r;
}

run_result raw_hot_counter(const settings& s, cairn::durability d) {
  scratch dir(s, "raw-hot");
  raw_db db(dir.path() / "hot.sqlite", d);
  db.increment("n");  // untimed, as on the cairn side
  const double run_seconds = s.min_seconds / 3;
  auto t0 = clock_type::now();
  auto deadline = t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(run_seconds));
  run_result r;
  while (clock_type::now() < deadline) {
    db.increment("n");
    ++r.ops;
  }
  r.seconds = seconds_since(t0);
  if (static_cast<std::uint64_t>(*db.get("n")) != r.ops + 1) throw std::runtime_error("hot counter: wrong total (raw)");
  return r;
}

/// Diagnostic: calls of a handler that does nothing (no storage), from the
/// other shard or the same one: what a round trip between shards costs.
run_result cairn_noop_calls(const settings& s, bool same_shard) {
  cairn::runtime rt(runtime_options_for(s, {}, cairn::durability::memory));
  auto ns = rt.register_namespace<small_actor>("small");
  auto ref = ns.get("hot");
  const unsigned caller_shard = same_shard ? rt.shard_of(ref.id()) : (rt.shard_of(ref.id()) + 1) % rt.shard_count();
  rt.block_on(cairn::as_task(ref.call(&small_actor::touch)), caller_shard);
  const double run_seconds = s.min_seconds / 3;
  return rt.block_on(
      [](cairn::actor_ref<small_actor> ref, double run_seconds) -> cairn::task<run_result> {
        auto t0 = clock_type::now();
        auto deadline = t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(run_seconds));
        run_result r;
        while (clock_type::now() < deadline) {
          co_await ref.call(&small_actor::touch);
          ++r.ops;
        }
        r.seconds = seconds_since(t0);
        co_return r;
      }(ref, run_seconds),
      caller_shard);
}

// ---- 4: 10,000 distinct counters, two rounds ------------------------------------------------

constexpr std::size_t distinct_actors = 10'000;
constexpr unsigned callers_per_shard = 16;

/// How many databases each side may keep open at once in distinct_counters_10k:
/// all 10,000 if the open-files limit allows (2 descriptors each: database and
/// WAL), else as many as fit with some room to spare.
std::size_t open_database_budget(const settings& s) {
  // Three descriptors per open database on cairn's side (the file, its WAL,
  // the lock: src/storage/exclusive_vfs.hpp); the raw side gets the same budget.
  const std::uint64_t fit = s.file_limit > 1024 ? (s.file_limit - 1024) / 3 : 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(distinct_actors, std::max<std::uint64_t>(fit, 2 * s.shards)));
}

run_result cairn_distinct_counters(const settings& s) {
  scratch dir(s, "cairn-distinct");
  // Databases stay open while their actor is resident. The idle timeout is
  // long (runtime_options_for), so only the cap (if the budget needs one)
  // makes actors hibernate.
  const std::size_t budget = open_database_budget(s);
  const std::size_t cap = budget >= distinct_actors ? 0 : budget / s.shards;
  run_result r;
  {
    auto options = runtime_options_for(s, dir.path(), cairn::durability::normal, cap);
    // The same open-file budget as the raw side (cairn's default keeps half
    // of the descriptors free for sockets).
    options.max_open_databases = std::max<std::size_t>(1, budget / s.shards);
    cairn::runtime rt(options);
    auto ns = rt.register_namespace<counter_actor>("counter", {cairn::durability::normal});
    auto ids = ids_by_shard(rt, ns, distinct_actors);
    rt.start();
    auto t0 = clock_type::now();
    for (std::int64_t round = 1; round <= 2; ++round) {
      // Round 2 goes backwards: the most recently used (still open) first.
      if (round == 2)
        for (auto& v : ids) std::reverse(v.begin(), v.end());
      on_every_shard(rt, [&](unsigned shard) {
        return fan_out(ids[shard], callers_per_shard, [ns, round](const cairn::actor_id& id) -> cairn::task<void> {
          if (co_await ns.get(id).call(&counter_actor::inc) != round)
            throw std::runtime_error("distinct counters: wrong value (cairn)");
        });
      });
    }
    r = {2 * distinct_actors, seconds_since(t0)};
  }  // untimed: the runtime stops and closes the databases
  return r;
}

/// Open raw connections, at most `cap`, closing the least recently used.
class raw_lru {
 public:
  raw_lru(std::size_t slots, std::size_t cap) : dbs_(slots), where_(slots), cap_(cap) {}
  raw_db& get(std::size_t i, const fs::path& file) {
    if (dbs_[i]) {
      lru_.erase(*where_[i]);
    } else {
      if (lru_.size() >= cap_) {
        dbs_[lru_.front()].reset();
        where_[lru_.front()].reset();
        lru_.pop_front();
      }
      dbs_[i] = std::make_unique<raw_db>(file, cairn::durability::normal);
    }
    where_[i] = lru_.insert(lru_.end(), i);
    return *dbs_[i];
  }

 private:
  std::vector<std::unique_ptr<raw_db>> dbs_;
  std::vector<std::optional<std::list<std::size_t>::iterator>> where_;
  std::list<std::size_t> lru_;  // least recently used first
  std::size_t cap_;
};

run_result raw_distinct_counters(const settings& s) {
  scratch dir(s, "raw-distinct");
  const unsigned threads = s.shards;
  // Every database stays open between the rounds (within the same budget as cairn's).
  const std::size_t cap = std::max<std::size_t>(1, open_database_budget(s) / threads);
  std::vector<std::unique_ptr<raw_lru>> open(threads);
  for (auto& o : open) o = std::make_unique<raw_lru>(distinct_actors, cap);
  auto file = [&](std::size_t i) { return dir.path() / (std::to_string(i) + ".sqlite"); };
  auto t0 = clock_type::now();
  on_threads(threads, [&](unsigned t) {
    for (std::size_t i = t; i < distinct_actors; i += threads)
      if (open[t]->get(i, file(i)).increment("n") != 1) throw std::runtime_error("distinct counters: wrong value (raw)");
  });
  on_threads(threads, [&](unsigned t) {
    std::size_t last = t + (distinct_actors - 1 - t) / threads * threads;
    for (std::size_t i = last + threads; i >= t + threads; i -= threads)  // backwards, as cairn's round 2
      if (open[t]->get(i - threads, file(i - threads)).increment("n") != 2)
        throw std::runtime_error("distinct counters: wrong value (raw)");
  });
  run_result r{2 * distinct_actors, seconds_since(t0)};
  on_threads(threads, [&](unsigned t) { open[t].reset(); });  // untimed: closes the databases, as cairn's shards do
  return r;
}

// ---- 5: activations of actors that read their storage in their first handler ---------------------------

// The cap is small next to the actors per shard, so that most of them also
// close their database within the timed region, as the raw peer does for all.
constexpr std::size_t activation_actors = 5'000;
constexpr std::size_t activation_cap = 250;  // max_resident_actors per shard

/// The databases the activation runs read, made once (untimed) and kept
/// across runs: one is written through cairn (or raw SQLite) and closed, then
/// copied for every id, which spares thousands of database creations.
struct activation_data {
  std::unique_ptr<scratch> cairn_dir, raw_dir;
};

std::string hex(const cairn::actor_id::value_type& v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : v) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

void prepare_activation_data(const settings& s, activation_data& data) {
  data.cairn_dir = std::make_unique<scratch>(s, "cairn-activation");
  data.raw_dir = std::make_unique<scratch>(s, "raw-activation");
  {
    // Where cairn keeps an actor's database (README: <data>/<namespace>/<aa>/<id value>.sqlite).
    std::vector<fs::path> paths;
    {
      cairn::runtime rt(runtime_options_for(s, data.cairn_dir->path(), cairn::durability::normal));
      auto ns = rt.register_namespace<reader_actor>("reader", {cairn::durability::normal});
      for (std::size_t i = 0; i < activation_actors; ++i) {
        std::string h = hex(ns.id_from_name("a" + std::to_string(i)).value());
        paths.push_back(data.cairn_dir->path() / "reader" / h.substr(0, 2) / (h + ".sqlite"));
      }
      rt.block_on(cairn::as_task(ns.get("a0").call(&reader_actor::write, std::int64_t{7})));
    }  // the runtime stops: the database is closed (a short WAL is kept as it is)
    if (!fs::exists(paths[0])) throw std::runtime_error("activations: cairn's database is not at " + paths[0].string());
    const fs::path wal = paths[0].string() + "-wal";
    for (std::size_t i = 1; i < activation_actors; ++i) {
      fs::create_directories(paths[i].parent_path());
      fs::copy_file(paths[0], paths[i]);
      if (fs::exists(wal)) fs::copy_file(wal, paths[i].string() + "-wal");
    }
  }
  const fs::path model = data.raw_dir->path() / "0.sqlite";
  raw_db(model, cairn::durability::normal).put("n", 7);
  for (std::size_t i = 1; i < activation_actors; ++i)
    fs::copy_file(model, data.raw_dir->path() / (std::to_string(i) + ".sqlite"));
}

run_result cairn_activations(const settings& s, const activation_data& data) {
  // A fresh runtime: none of the actors is resident, and the cap makes them
  // hibernate (close their database) again as the run goes on.
  cairn::runtime rt(runtime_options_for(s, data.cairn_dir->path(), cairn::durability::normal, activation_cap));
  auto ns = rt.register_namespace<reader_actor>("reader", {cairn::durability::normal});
  auto ids = ids_by_shard(rt, ns, activation_actors);
  rt.start();
  const auto starts_before = reader_made.load();
  auto t0 = clock_type::now();
  on_every_shard(rt, [&](unsigned shard) {
    return fan_out(ids[shard], callers_per_shard, [ns](const cairn::actor_id& id) -> cairn::task<void> {
      if (co_await ns.get(id).call(&reader_actor::read) != 7)
        throw std::runtime_error("activations: wrong value (cairn)");
    });
  });
  run_result r{activation_actors, seconds_since(t0)};
  if (reader_made.load() - starts_before != activation_actors)
    throw std::runtime_error("activations: not every call activated its actor");
  return r;
}

run_result raw_activations(const settings& s, const activation_data& data) {
  auto t0 = clock_type::now();
  on_threads(s.shards, [&](unsigned t) {
    for (std::size_t i = t; i < activation_actors; i += s.shards) {
      raw_db db(data.raw_dir->path() / (std::to_string(i) + ".sqlite"), cairn::durability::normal);
      if (db.get("n") != 7) throw std::runtime_error("activations: wrong value (raw)");
    }  // closed here
  });
  return {activation_actors, seconds_since(t0)};
}

// ---- 6: peak RSS with many actors (in a child process of its own) ------------------------------

std::uint64_t status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::stoull(line.substr(n + 1));
  return 0;
}

/// The child: touches `n` distinct actors (one call each) with the given
/// resident cap per shard and prints what it measured as one JSON line.
int rss_child(const settings& s, std::uint64_t n, std::size_t cap) {
  cairn::runtime_options o;
  o.shards = s.shards;
  o.max_resident_actors = cap;
  cairn::runtime rt(o);
  auto ns = rt.register_namespace<small_actor>("small");
  rt.start();
  rt.block_on([]() -> cairn::task<void> { co_return; }());
  const auto hwm_before = status_kb("VmHWM");
  const auto rss_before = status_kb("VmRSS");
  // One driver per shard with 128 callers, each touching actors of its own
  // shard only (cross-shard replies wake a stray actor on the caller's shard
  // that never hibernates, which would defeat the cap: see the report).
  auto t0 = clock_type::now();
  on_every_shard(rt, [&](unsigned shard) {
    const std::uint64_t share = n / s.shards + (shard < n % s.shards ? 1 : 0);
    return [](cairn::runtime& rt, cairn::actor_namespace<small_actor> ns, unsigned shard,
              std::uint64_t n) -> cairn::task<void> {
      std::uint64_t next = 0;
      std::vector<cairn::task<void>> callers;
      for (int c = 0; c < 128; ++c) {
        callers.push_back([](cairn::runtime& rt, cairn::actor_namespace<small_actor> ns, unsigned shard,
                             std::uint64_t& next, std::uint64_t n) -> cairn::task<void> {
          while (next < n) {
            ++next;
            cairn::actor_id id;
            do id = ns.new_unique_id();
            while (rt.shard_of(id) != shard);
            if (co_await ns.get(id).call(&small_actor::touch) != 1)
              throw std::runtime_error("rss: an actor was touched twice");
          }
        }(rt, ns, shard, next, n));
      }
      co_await cairn::when_all(std::move(callers));
    }(rt, ns, shard, share);
  });
  const double seconds = seconds_since(t0);
  std::uint64_t resident = 0;
  // One empty pass per shard first: the cap is enforced between passes.
  for (unsigned sh = 0; sh < rt.shard_count(); ++sh) rt.block_on([]() -> cairn::task<void> { co_return; }(), sh);
  for (unsigned sh = 0; sh < rt.shard_count(); ++sh)
    resident += rt.block_on([]() -> cairn::task<std::uint64_t> {
      co_return cairn::detail::shard::current()->resident_actors();
    }(), sh);
  if (small_made.load() != n) throw std::runtime_error("rss: activations do not match the actors touched");
  boost::json::object out{{"actors", n},
                          {"cap_per_shard", cap},
                          {"hwm_before_kb", hwm_before},
                          {"rss_before_kb", rss_before},
                          {"hwm_after_kb", status_kb("VmHWM")},
                          {"rss_after_kb", status_kb("VmRSS")},
                          {"resident_actors", resident},
                          {"seconds", seconds}};
  std::printf("%s\n", boost::json::serialize(out).c_str());
  std::fflush(stdout);
  return 0;
}

boost::json::object run_rss_child(const settings& s, std::uint64_t n, std::size_t cap) {
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string cmd = "'" + exe + "' --rss-child " + std::to_string(n) + " " + std::to_string(cap) + " --shards " +
                    std::to_string(s.shards);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot start " + cmd);
  std::string text;
  char buf[4096];
  while (std::size_t k = std::fread(buf, 1, sizeof buf, p)) text.append(buf, k);
  int status = pclose(p);
  if (status != 0) throw std::runtime_error("the RSS child failed: " + cmd);
  return boost::json::parse(text).as_object();
}

// ---- the driver ---------------------------------------------------------------------------

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct side {
  std::vector<double> rates;
  double seconds = 0;
  void add(const run_result& r) {
    rates.push_back(r.rate());
    seconds += r.seconds;
  }
  [[nodiscard]] bool done(double min_seconds) const { return seconds >= min_seconds && rates.size() >= 3; }
};

struct benchmark {
  std::string name;
  std::string unit;  // "ops" or "activations"
  std::string note;
  std::function<void()> setup;  // untimed, before the first run
  std::function<run_result()> cairn, raw;
  bool diagnostic = false;  // runs only when --only names it
};

std::string human(double rate) {
  char buf[32];
  if (rate >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M", rate / 1e6);
  else if (rate >= 1e3) std::snprintf(buf, sizeof buf, "%.1f k", rate / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", rate);
  return buf;
}

std::string format_rates(const std::vector<double>& v) {
  std::string out;
  for (double r : v) out += (out.empty() ? "" : " ") + human(r);
  return out;
}

/// Raises the open-files limit: every resident actor with storage holds two
/// descriptors (database and WAL), and distinct_counters_10k keeps 10,000 open.
rlim_t raise_file_limit() {
  rlimit l{};
  getrlimit(RLIMIT_NOFILE, &l);
  rlimit want{std::max<rlim_t>(l.rlim_max, 65536), std::max<rlim_t>(l.rlim_max, 65536)};
  if (setrlimit(RLIMIT_NOFILE, &want) != 0) {  // raising the hard limit needs privileges
    l.rlim_cur = l.rlim_max;
    setrlimit(RLIMIT_NOFILE, &l);
  }
  getrlimit(RLIMIT_NOFILE, &l);
  return l.rlim_cur;
}

// Removes the default scratch folder at exit.
struct scratch_root {
  fs::path path;
  bool owned = false;
  ~scratch_root() {
    if (!owned) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

int main(int argc, char** argv) {
  settings s;
  std::string json_path = "storage_bench.json", only;
  bool verbose = false;
  std::string side_only;
  std::optional<std::pair<std::uint64_t, std::size_t>> rss_child_args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "storage_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--min-seconds") s.min_seconds = std::stod(next());
    else if (a == "--json") json_path = next();
    else if (a == "--only") only = next();
    else if (a == "--dir") s.dir = next();
    else if (a == "--verbose") verbose = true;
    else if (a == "--side") side_only = next();  // diagnostics: run only "cairn" or only "raw" (on both columns)
    else if (a == "--shards") s.shards = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--idle-spin-us") s.idle_spin = std::chrono::microseconds(std::stoll(next()));  // diagnostics
    else if (a == "--rss-child") {  // internal: benchmark 6 runs in a process of its own
      auto n = std::stoull(next());
      rss_child_args = std::pair{n, static_cast<std::size_t>(std::stoull(next()))};
    } else {
      std::fprintf(stderr, "usage: %s [--min-seconds S] [--json FILE] [--only NAME] [--dir PATH] [--verbose] [--shards N] [--side cairn|raw] [--idle-spin-us US]\n", argv[0]);
      return 2;
    }
  }
  if (s.shards == 0) s.shards = 1;
  if (rss_child_args) return rss_child(s, rss_child_args->first, rss_child_args->second);

  s.file_limit = raise_file_limit();
  scratch_root root;
  if (s.dir.empty()) {
    std::string templ = (fs::temp_directory_path() / "cairn-storage-bench-XXXXXX").string();
    if (!mkdtemp(templ.data())) {
      std::perror("storage_bench: mkdtemp");
      return 1;
    }
    s.dir = templ;
    root = {s.dir, true};
  } else {
    fs::create_directories(s.dir);
  }

  auto data = std::make_shared<activation_data>();
  using cairn::durability;
  std::vector<benchmark> benchmarks = {
      {"hot_counter_normal", "ops", "1 caller on the other shard; raw: 1 connection, autocommit",
       nullptr, [&] { return cairn_hot_counter(s, durability::normal, 1); },
       [&] { return raw_hot_counter(s, durability::normal); }},
      {"hot_counter_full", "ops", "1 caller on the other shard; raw: 1 connection, autocommit, synchronous=FULL",
       nullptr, [&] { return cairn_hot_counter(s, durability::full, 1); },
       [&] { return raw_hot_counter(s, durability::full); }},
      {"hot_counter_full_32", "ops", "32 concurrent callers on the other shard; raw: 1 thread, 1 fsync-ed transaction per write",
       nullptr, [&] { return cairn_hot_counter(s, durability::full, 32); },
       [&] { return raw_hot_counter(s, durability::full); }},
      {"distinct_counters_10k", "ops",
       "10,000 actors x 2 increments (round 2 backwards), 16 callers per shard; databases stay open, at most " +
           std::to_string(open_database_budget(s)) + " at once (open-files limit); raw: " + std::to_string(s.shards) +
           " threads, connections kept open within the same budget (LRU)",
       nullptr, [&] { return cairn_distinct_counters(s); }, [&] { return raw_distinct_counters(s); }},
      {"activation_with_storage", "activations",
       "5,000 existing actors read 1 key in their first handler, max_resident_actors=250/shard, 16 callers per shard; raw: " +
           std::to_string(s.shards) + " threads, open+pragmas+CREATE TABLE IF NOT EXISTS+SELECT+close per id",
       [&] { prepare_activation_data(s, *data); }, [&] { return cairn_activations(s, *data); },
       [&] { return raw_activations(s, *data); }},
      // Diagnostics (not in the default table): what the cross-shard hop costs.
      {"diag_same_shard_counter_normal", "ops", "1 caller on the actor's own shard; raw: 1 connection, autocommit",
       nullptr, [&] { return cairn_hot_counter(s, durability::normal, 1, true); },
       [&] { return raw_hot_counter(s, durability::normal); }, true},
      {"diag_noop_call_hop", "ops", "a handler without storage: cairn column from the other shard, raw column from the same shard (inline)",
       nullptr, [&] { return cairn_noop_calls(s, false); }, [&] { return cairn_noop_calls(s, true); }, true},
  };

  boost::json::object report;
  report["shards"] = s.shards;
  report["min_seconds"] = s.min_seconds;
  report["statistic"] = "median of per-run rates";
  report["sqlite_version"] = sqlite3_libversion();
  boost::json::array rows;
  std::vector<std::string> notes;

  std::printf("Storage benchmarks: cairn (%u shards) against raw SQLite %s, alternating, >= %.2f s and >= 3 runs "
              "each side; median of per-run rates\nscratch: %s   open-files limit: %llu\n\n",
              s.shards, sqlite3_libversion(), s.min_seconds, s.dir.c_str(), static_cast<unsigned long long>(s.file_limit));
  std::printf("%-26s %16s %16s %8s\n", "benchmark", "cairn ops/s", "raw SQLite ops/s", "ratio");
  std::fflush(stdout);
  auto selected = [&](const std::string& name) { return only.empty() || name.find(only) != std::string::npos; };

  for (auto& b : benchmarks) {
    if (!selected(b.name) || (b.diagnostic && only.empty())) continue;
    if (b.setup) b.setup();
    side mine, theirs;
    // Alternate the two so drifts of the machine hit both alike.
    while (!mine.done(s.min_seconds) || !theirs.done(s.min_seconds)) {
      auto one = [&](side& into, const std::function<run_result()>& run, const char* who) {
        auto t0 = clock_type::now();
        run_result r = run();
        into.add(r);
        if (verbose)
          std::fprintf(stderr, "  [%s %s] %llu ops in %.3f s = %.0f/s (run with setup and cleanup: %.3f s)\n",
                       b.name.c_str(), who, static_cast<unsigned long long>(r.ops), r.seconds, r.rate(),
                       seconds_since(t0));
      };
      if (!mine.done(s.min_seconds)) one(mine, side_only == "raw" ? b.raw : b.cairn, "cairn");
      if (!theirs.done(s.min_seconds)) one(theirs, side_only == "cairn" ? b.cairn : b.raw, "raw");
    }
    const double m = median(mine.rates), t = median(theirs.rates), ratio = m / t;
    std::printf("%-26s %16.0f %16.0f %7.2fx\n", b.name.c_str(), m, t, ratio);
    std::fflush(stdout);
    notes.push_back(b.name + ": " + b.note + "\n      runs/s cairn: " + format_rates(mine.rates) +
                    "\n      runs/s raw:   " + format_rates(theirs.rates));
    boost::json::array cr(mine.rates.begin(), mine.rates.end()), rr(theirs.rates.begin(), theirs.rates.end());
    rows.push_back(boost::json::object{{"benchmark", b.name},
                                       {"unit", b.unit},
                                       {"cairn_ops_per_s", m},
                                       {"raw_sqlite_ops_per_s", t},
                                       {"ratio", ratio},
                                       {"cairn_run_rates", cr},
                                       {"raw_run_rates", rr},
                                       {"note", b.note}});
  }
  data.reset();

  // Peak RSS: each case in a fresh process, so earlier benchmarks do not set the high-water mark.
  struct rss_case {
    std::string name;
    std::uint64_t actors;
    std::size_t cap;
  };
  for (const rss_case& c : {rss_case{"rss_1m_actors", 1'000'000, 10'000}, rss_case{"rss_100k_actors_nocap", 100'000, 0}}) {
    if (!selected(c.name)) continue;
    auto r = run_rss_child(s, c.actors, c.cap);
    const double mb = static_cast<double>(r.at("hwm_after_kb").to_number<std::uint64_t>()) / 1024;
    const double before_mb = static_cast<double>(r.at("hwm_before_kb").to_number<std::uint64_t>()) / 1024;
    char figure[32];
    std::snprintf(figure, sizeof figure, "%.1f MB", mb);
    std::printf("%-26s %16s %16s %8s\n", c.name.c_str(), figure, "-", "-");
    std::fflush(stdout);
    char note[256];
    std::snprintf(note, sizeof note,
                  "%s: peak RSS (VmHWM) %.1f MB after touching %llu actors (before: %.1f MB, +%.1f MB); cap %zu per "
                  "shard; %llu resident at the end; %.0f touches/s",
                  c.name.c_str(), mb, static_cast<unsigned long long>(c.actors), before_mb, mb - before_mb, c.cap,
                  static_cast<unsigned long long>(r.at("resident_actors").to_number<std::uint64_t>()),
                  static_cast<double>(c.actors) / r.at("seconds").to_number<double>());
    notes.emplace_back(note);
    r["benchmark"] = c.name;
    r["unit"] = "MB";
    r["peak_rss_mb"] = mb;
    r["rss_before_mb"] = before_mb;
    rows.push_back(r);
  }
  report["benchmarks"] = rows;

  std::printf("\n");
  for (auto& n : notes) std::printf("  %s\n", n.c_str());
  std::ofstream(json_path) << boost::json::serialize(report) << "\n";
  std::printf("\nwrote %s\n", json_path.c_str());
  return 0;
}
