// The Savina micro-benchmarks on cairn, with the same workloads, message
// counts and completion rules as perf/caf_savina.cpp:
// - the runtime is built and the fixed actors are activated before the clock
//   starts (fork_join_create creates inside the timed region: that is what it
//   measures);
// - start signals and completion notices are control traffic, not counted;
// - completion reaches the main thread through a std::promise, never a sleep.
#include "cairn_savina.hpp"

#include <cairn/cairn.hpp>

#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace savina::cairn_impl {
namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}
inline double tiny_work(double x) { return std::sqrt(std::fabs(std::sin(x))); }
volatile double work_sink = 0;

cairn::runtime_options options(int threads) {
  cairn::runtime_options o;
  o.shards = static_cast<unsigned>(threads);
  return o;
}

using done_promise = std::shared_ptr<std::promise<void>>;

// Activates every actor in `refs` (untimed) by calling a no-op on it.
template <class T>
void activate_all(cairn::runtime& rt, const std::vector<cairn::actor_ref<T>>& refs) {
  rt.block_on([](const std::vector<cairn::actor_ref<T>>& refs) -> cairn::task<void> {
    for (auto& r : refs) co_await r.call(&T::noop);
  }(refs));
}

// ---- PingPong -------------------------------------------------------------------

class pinger;
class ponger : public cairn::actor {
 public:
  void noop() {}
  void ping(cairn::actor_ref<pinger> from);
};
class pinger : public cairn::actor {
 public:
  void noop() {}
  void start(cairn::actor_ref<ponger> pong, std::uint64_t n, done_promise done) {
    pong_ = pong;
    left_ = n;
    done_ = std::move(done);
    pong_.send(&ponger::ping, cairn::ref_of(*this));
  }
  void pong() {
    if (--left_ == 0) {
      done_->set_value();
      return;
    }
    pong_.send(&ponger::ping, cairn::ref_of(*this));
  }

 private:
  cairn::actor_ref<ponger> pong_;
  std::uint64_t left_ = 0;
  done_promise done_;
};
void ponger::ping(cairn::actor_ref<pinger> from) { from.send(&pinger::pong); }

result pingpong_impl(const params& p, bool same_shard) {
  cairn::runtime rt(options(p.threads));
  auto pings = rt.register_namespace<pinger>("ping");
  auto pongs = rt.register_namespace<ponger>("pong");
  // Pick names whose ids land on the same shard (or on different ones).
  auto ping = pings.get("ping");
  cairn::actor_ref<ponger> pong;
  for (int i = 0;; ++i) {
    pong = pongs.get("pong" + std::to_string(i));
    bool same = rt.shard_of(ping.id()) == rt.shard_of(pong.id());
    if (same == same_shard || rt.shard_count() == 1) break;
  }
  activate_all(rt, std::vector{ping});
  activate_all(rt, std::vector{pong});
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto t0 = clock_type::now();
  ping.send(&pinger::start, pong, p.pingpong_n, done);
  finished.wait();
  return {2 * p.pingpong_n, seconds_since(t0)};
}

// ---- Counting -------------------------------------------------------------------

class counter : public cairn::actor {
 public:
  void noop() {}
  void inc() { ++count_; }
  std::uint64_t total() const { return count_; }

 private:
  std::uint64_t count_ = 0;
};
class producer : public cairn::actor {
 public:
  void noop() {}
  cairn::task<std::uint64_t> run(cairn::actor_ref<counter> c, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) c.send(&counter::inc);
    co_return co_await c.call(&counter::total);  // FIFO: sees every increment
  }
};

// ---- Thread ring ----------------------------------------------------------------

class ring_member : public cairn::actor {
 public:
  void noop() {}
  void link(cairn::actor_ref<ring_member> next, done_promise done) {
    next_ = next;
    done_ = std::move(done);
  }
  void token(std::uint64_t left) {
    if (left == 0) {
      done_->set_value();
      return;
    }
    next_.send(&ring_member::token, left - 1);
  }

 private:
  cairn::actor_ref<ring_member> next_;
  done_promise done_;
};

// ---- Fork-join throughput --------------------------------------------------------

class fj_driver;
class fj_worker : public cairn::actor {
 public:
  void noop() {}
  void setup(std::uint64_t expected, done_promise done, std::shared_ptr<std::atomic<int>> pending) {
    expected_ = expected;
    done_ = std::move(done);
    pending_ = std::move(pending);
  }
  void work() {
    acc_ += tiny_work(static_cast<double>(seen_));
    if (++seen_ == expected_) {
      work_sink = acc_;
      if (pending_->fetch_sub(1) == 1) done_->set_value();
    }
  }

 private:
  std::uint64_t seen_ = 0, expected_ = 0;
  double acc_ = 0;
  done_promise done_;
  std::shared_ptr<std::atomic<int>> pending_;
};
class fj_driver : public cairn::actor {
 public:
  void noop() {}
  void start(std::vector<cairn::actor_ref<fj_worker>> workers, std::uint64_t m) {
    for (std::uint64_t i = 0; i < m; ++i)  // Savina's order: round-robin, m rounds
      for (auto& w : workers) w.send(&fj_worker::work);
  }
};

// ---- Fork-join create -------------------------------------------------------------

class fjc_collector : public cairn::actor {
 public:
  void noop() {}
  void expect(std::uint64_t n, done_promise done) {
    left_ = n;
    done_ = std::move(done);
  }
  void finished(double r) {
    acc_ += r;
    if (--left_ == 0) {
      work_sink = acc_;
      done_->set_value();
    }
  }

 private:
  std::uint64_t left_ = 0;
  double acc_ = 0;
  done_promise done_;
};
class fjc_worker : public cairn::actor {
 public:
  void work(cairn::actor_ref<fjc_collector> collector, double x) { collector.send(&fjc_collector::finished, tiny_work(x)); }
};
class fjc_driver : public cairn::actor {
 public:
  void noop() {}
  void start(std::uint64_t n, cairn::actor_ref<fjc_collector> collector) {
    auto workers = runtime().get_namespace<fjc_worker>("fjc_worker");
    for (std::uint64_t i = 0; i < n; ++i)
      workers.get(workers.new_unique_id()).send(&fjc_worker::work, collector, static_cast<double>(i));
  }
};

// ---- Big ----------------------------------------------------------------------------

class big_worker : public cairn::actor {
 public:
  void noop() {}
  void setup(int index, std::shared_ptr<const std::vector<cairn::actor_ref<big_worker>>> peers, std::uint64_t pings,
             done_promise done, std::shared_ptr<std::atomic<int>> pending) {
    index_ = index;
    peers_ = std::move(peers);
    pings_ = pings;
    done_ = std::move(done);
    pending_ = std::move(pending);
    rng_.seed(static_cast<std::minstd_rand::result_type>(index) + 1);
  }
  void start() { next_ping(); }
  void ping(cairn::actor_ref<big_worker> from) { from.send(&big_worker::pong); }
  void pong() { next_ping(); }

 private:
  // One ping outstanding at a time, as in Savina.
  void next_ping() {
    if (sent_ == pings_) {
      if (pending_->fetch_sub(1) == 1) done_->set_value();
      return;
    }
    ++sent_;
    std::uniform_int_distribution<int> pick(0, static_cast<int>(peers_->size()) - 2);
    int target = pick(rng_);
    if (target >= index_) ++target;  // never ourselves
    (*peers_)[static_cast<std::size_t>(target)].send(&big_worker::ping, cairn::ref_of(*this));
  }

  int index_ = 0;
  std::shared_ptr<const std::vector<cairn::actor_ref<big_worker>>> peers_;
  std::uint64_t pings_ = 0, sent_ = 0;
  done_promise done_;
  std::shared_ptr<std::atomic<int>> pending_;
  std::minstd_rand rng_;
};

// ---- Chameneos ------------------------------------------------------------------------

inline std::int32_t complement(std::int32_t a, std::int32_t b) { return a == b ? a : 3 - a - b; }

class creature;
class mall : public cairn::actor {
 public:
  void noop() {}
  void open(std::uint64_t meetings, int creatures, done_promise done) {
    left_ = meetings;
    creatures_ = creatures;
    done_ = std::move(done);
  }
  void meet(cairn::actor_ref<creature> who, std::int32_t colour);
  void count(std::uint64_t n) {
    met_ += n;
    if (++faded_ == creatures_) done_->set_value();
  }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t met() const { return met_; }

 private:
  std::uint64_t left_ = 0, requests_ = 0, met_ = 0;
  int creatures_ = 0, faded_ = 0;
  cairn::actor_ref<creature> waiting_;
  std::int32_t waiting_colour_ = 0;
  done_promise done_;
};
class creature : public cairn::actor {
 public:
  void noop() {}
  void start(cairn::actor_ref<mall> m, std::int32_t colour) {
    mall_ = m;
    colour_ = colour;
    mall_.send(&mall::meet, cairn::ref_of(*this), colour_);
  }
  void paired(std::int32_t other_colour, cairn::actor_ref<creature> other) {
    colour_ = complement(colour_, other_colour);
    ++meetings_;
    other.send(&creature::change, colour_);
    mall_.send(&mall::meet, cairn::ref_of(*this), colour_);
  }
  void change(std::int32_t colour) {
    colour_ = colour;
    ++meetings_;
    mall_.send(&mall::meet, cairn::ref_of(*this), colour_);
  }
  void stop() { mall_.send(&mall::count, meetings_); }

 private:
  cairn::actor_ref<mall> mall_;
  std::int32_t colour_ = 0;
  std::uint64_t meetings_ = 0;
};
void mall::meet(cairn::actor_ref<creature> who, std::int32_t colour) {
  ++requests_;
  if (left_ == 0) {
    who.send(&creature::stop);
    return;
  }
  if (!waiting_.valid()) {
    waiting_ = who;
    waiting_colour_ = colour;
    return;
  }
  --left_;
  waiting_.send(&creature::paired, colour, who);  // the waiting one answers its partner
  waiting_ = {};
}

class empty_actor : public cairn::actor {
 public:
  void noop() {}
};

}  // namespace

result pingpong(const params& p) { return pingpong_impl(p, true); }
result pingpong_cross_shard(const params& p) { return pingpong_impl(p, false); }

result counting(const params& p) {
  cairn::runtime rt(options(p.threads));
  auto counters = rt.register_namespace<counter>("counter");
  auto producers = rt.register_namespace<producer>("producer");
  auto c = counters.get("counter");
  auto prod = producers.get("producer");
  activate_all(rt, std::vector{c});
  activate_all(rt, std::vector{prod});
  auto t0 = clock_type::now();
  auto total = rt.block_on(cairn::as_task(prod.call(&producer::run, c, p.counting_n)));
  result r{p.counting_n + 2, seconds_since(t0)};
  if (total != p.counting_n) throw std::runtime_error("counting: wrong total");
  return r;
}

result thread_ring(const params& p) {
  cairn::runtime rt(options(p.threads));
  auto members = rt.register_namespace<ring_member>("ring");
  std::vector<cairn::actor_ref<ring_member>> ring;
  for (int i = 0; i < p.ring_actors; ++i) ring.push_back(members.get("ring" + std::to_string(i)));
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  rt.block_on([&]() -> cairn::task<void> {
    for (std::size_t i = 0; i < ring.size(); ++i) co_await ring[i].call(&ring_member::link, ring[(i + 1) % ring.size()], done);
  }());
  auto t0 = clock_type::now();
  ring[0].send(&ring_member::token, p.ring_passes);
  finished.wait();
  return {p.ring_passes, seconds_since(t0)};
}

result fork_join_throughput(const params& p) {
  cairn::runtime rt(options(p.threads));
  auto workers_ns = rt.register_namespace<fj_worker>("fj_worker");
  auto drivers = rt.register_namespace<fj_driver>("fj_driver");
  std::vector<cairn::actor_ref<fj_worker>> workers;
  for (int i = 0; i < p.fj_actors; ++i) workers.push_back(workers_ns.get("w" + std::to_string(i)));
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto pending = std::make_shared<std::atomic<int>>(p.fj_actors);
  rt.block_on([&]() -> cairn::task<void> {
    for (auto& w : workers) co_await w.call(&fj_worker::setup, p.fj_messages, done, pending);
  }());
  auto driver = drivers.get("driver");
  activate_all(rt, std::vector{driver});
  auto t0 = clock_type::now();
  driver.send(&fj_driver::start, workers, p.fj_messages);
  finished.wait();
  return {static_cast<std::uint64_t>(p.fj_actors) * p.fj_messages, seconds_since(t0)};
}

result fork_join_create(const params& p) {
  cairn::runtime rt(options(p.threads));
  rt.register_namespace<fjc_worker>("fjc_worker");
  auto collectors = rt.register_namespace<fjc_collector>("collector");
  auto drivers = rt.register_namespace<fjc_driver>("driver");
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto collector = collectors.get("collector");
  auto driver = drivers.get("driver");
  rt.block_on(cairn::as_task(collector.call(&fjc_collector::expect, p.fjc_actors, done)));
  activate_all(rt, std::vector{driver});
  auto t0 = clock_type::now();
  driver.send(&fjc_driver::start, p.fjc_actors, collector);
  finished.wait();
  return {p.fjc_actors, seconds_since(t0)};
}

result big(const params& p) {
  cairn::runtime rt(options(p.threads));
  auto workers_ns = rt.register_namespace<big_worker>("big");
  auto peers = std::make_shared<std::vector<cairn::actor_ref<big_worker>>>();
  for (int i = 0; i < p.big_actors; ++i) peers->push_back(workers_ns.get("b" + std::to_string(i)));
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  auto pending = std::make_shared<std::atomic<int>>(p.big_actors);
  rt.block_on([&]() -> cairn::task<void> {
    for (int i = 0; i < p.big_actors; ++i)
      co_await (*peers)[static_cast<std::size_t>(i)].call(&big_worker::setup, i, peers, p.big_pings, done, pending);
  }());
  auto t0 = clock_type::now();
  for (auto& w : *peers) w.send(&big_worker::start);
  finished.wait();
  return {2 * static_cast<std::uint64_t>(p.big_actors) * p.big_pings, seconds_since(t0)};
}

result chameneos(const params& p) {
  cairn::runtime rt(options(p.threads));
  auto malls = rt.register_namespace<mall>("mall");
  auto creatures_ns = rt.register_namespace<creature>("creature");
  auto m = malls.get("mall");
  std::vector<cairn::actor_ref<creature>> creatures;
  for (int i = 0; i < p.cham_count; ++i) creatures.push_back(creatures_ns.get("c" + std::to_string(i)));
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  rt.block_on(cairn::as_task(m.call(&mall::open, p.cham_meetings, p.cham_count, done)));
  activate_all(rt, creatures);
  auto t0 = clock_type::now();
  for (int i = 0; i < p.cham_count; ++i)
    creatures[static_cast<std::size_t>(i)].send(&creature::start, m, static_cast<std::int32_t>(i % 3));
  finished.wait();
  double seconds = seconds_since(t0);
  auto [requests, met] = rt.block_on([&]() -> cairn::task<std::pair<std::uint64_t, std::uint64_t>> {
    co_return std::pair{co_await m.call(&mall::requests), co_await m.call(&mall::met)};
  }());
  if (met != 2 * p.cham_meetings) throw std::runtime_error("chameneos: wrong meeting count");
  // requests + pairing notices + changes + stops + final counts, as in caf_savina.cpp.
  return {requests + 2 * p.cham_meetings + 2 * static_cast<std::uint64_t>(p.cham_count), seconds};
}

activation_result activations(std::uint64_t n) {
  cairn::runtime rt(options(1));
  auto empties = rt.register_namespace<empty_actor>("empty");
  std::vector<cairn::actor_id> ids;
  ids.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) ids.push_back(empties.new_unique_id());  // ids are not what we time
  activation_result r;
  rt.block_on([&]() -> cairn::task<void> {
    r.heap_before = heap_in_use();
    auto t0 = clock_type::now();
    for (auto& id : ids) empties.get(id).send(&empty_actor::noop);
    // A call queued behind every send... on another actor: wait for the shard to drain.
    co_await empties.get(ids.back()).call(&empty_actor::noop);
    r.seconds = seconds_since(t0);
    r.heap_after = heap_in_use();
    r.resident = n;
  }());
  return r;
}

}  // namespace savina::cairn_impl
