// Savina actor micro-benchmarks (Imam & Sarkar, 2014) on CAF 0.17.
//
// This is the peer cairn is compared against, so it is written the way a
// competent CAF 0.17 user would write it: event-based (stateful) actors,
// typed atoms, `self->send`, replies by returning a value from the handler,
// and the default work-stealing scheduler with exactly `p.threads` workers.
//
// Common rules of every benchmark:
// - The actor_system is constructed before the clock starts.
// - The fixed actor set of a benchmark is spawned and wired up before the
//   clock starts; only fork_join_create spawns inside the timed region,
//   because creation is what it measures.
// - Start signals and completion notices (to the main thread or to a
//   collector) are control traffic and are not counted in `result.messages`;
//   everything the workload itself sends is (a request plus its response
//   counts two).
// - Completion is detected by a message to a `caf::scoped_actor` blocked in
//   `receive`, never by sleeping.
// - Actors that stay alive after the timed region (they would otherwise keep
//   the system's destructor waiting) are stopped with an exit message after
//   the clock has stopped.

#include "savina.hpp"

#include <caf/all.hpp>

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

using start_atom = caf::atom_constant<caf::atom("start")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using inc_atom = caf::atom_constant<caf::atom("inc")>;
using total_atom = caf::atom_constant<caf::atom("total")>;
using next_atom = caf::atom_constant<caf::atom("next")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using work_atom = caf::atom_constant<caf::atom("work")>;
using meet_atom = caf::atom_constant<caf::atom("meet")>;
using change_atom = caf::atom_constant<caf::atom("change")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

// A system config with exactly `threads` scheduler workers. "stealing" is
// CAF's default policy; it is set explicitly so the comparison does not
// depend on an ini file or a changed default.
class bench_config : public caf::actor_system_config {
public:
  explicit bench_config(int threads) {
    if (threads < 1)
      throw std::invalid_argument("savina::caf_impl: threads must be >= 1");
    set("scheduler.policy", caf::atom("stealing"));
    set("scheduler.max-threads", static_cast<std::int64_t>(threads));
  }
};

// The config must outlive the system, so both live together. The worker
// count is checked because a misspelt config key is only reported on stderr.
struct bench_env {
  bench_config cfg;
  caf::actor_system sys;
  explicit bench_env(int threads) : cfg(threads), sys(cfg) {
    if (sys.scheduler().num_workers() != static_cast<std::size_t>(threads))
      throw std::logic_error("savina::caf_impl: scheduler ignored max-threads");
  }
};

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Savina's per-message "tiny computation" for the fork-join benchmarks.
inline double tiny_work(double x) {
  return std::sqrt(std::fabs(std::sin(x)));
}

// Results of tiny_work end up here so the compiler cannot drop the work.
volatile double g_work_sink = 0;

void require(bool ok, const char* what) {
  if (!ok)
    throw std::invalid_argument(std::string("savina::caf_impl: ") + what);
}

// Stops actors that outlive the timed region (not timed).
void stop_all(caf::scoped_actor& self, const std::vector<caf::actor>& xs) {
  for (auto& x : xs)
    self->send_exit(x, caf::exit_reason::user_shutdown);
}

// ---------------------------------------------------------------------------
// PingPong: two actors bounce a message `pingpong_n` times.
// ---------------------------------------------------------------------------

caf::behavior pong_actor() {
  // Returning a value replies to the sender: the idiomatic CAF answer.
  return {
    [](ping_atom) { return pong_atom::value; },
  };
}

struct ping_state {
  std::uint64_t left = 0;
};

caf::behavior ping_actor(caf::stateful_actor<ping_state>* self,
                         caf::actor pong, std::uint64_t n, caf::actor driver) {
  self->state.left = n;
  return {
    [=](start_atom) {
      if (self->state.left == 0) {
        self->send(driver, done_atom::value);
        self->quit();
        return;
      }
      self->send(pong, ping_atom::value);
    },
    [=](pong_atom) {
      if (--self->state.left == 0) {
        self->send(driver, done_atom::value);
        self->quit();
        return;
      }
      self->send(pong, ping_atom::value);
    },
  };
}

// ---------------------------------------------------------------------------
// Counting: one producer sends `counting_n` increments to one counter, then
// asks for the total (request + response).
// ---------------------------------------------------------------------------

struct counter_state {
  std::uint64_t count = 0;
};

caf::behavior counter_actor(caf::stateful_actor<counter_state>* self) {
  return {
    [=](inc_atom) { ++self->state.count; },
    [=](total_atom) { return self->state.count; },
  };
}

caf::behavior producer_actor(caf::event_based_actor* self, caf::actor counter,
                             std::uint64_t n, caf::actor driver) {
  return {
    [=](start_atom) {
      for (std::uint64_t i = 0; i < n; ++i)
        self->send(counter, inc_atom::value);
      // Mailboxes are FIFO per sender, so the request sees every increment.
      self->request(counter, caf::infinite, total_atom::value)
        .then([=](std::uint64_t total) {
          self->send(driver, done_atom::value, total);
          self->quit();
        });
    },
  };
}

// ---------------------------------------------------------------------------
// ThreadRing: `ring_actors` actors in a ring pass a token `ring_passes` hops.
// ---------------------------------------------------------------------------

struct ring_state {
  caf::actor next;
};

caf::behavior ring_actor(caf::stateful_actor<ring_state>* self,
                         caf::actor driver) {
  return {
    // Wiring (before the clock): learn the neighbour, acknowledge.
    [=](next_atom, caf::actor next) {
      self->state.next = std::move(next);
      return ack_atom::value;
    },
    // The token carries the number of hops still to go; every forward is one
    // hop, so exactly `ring_passes` messages travel between ring members.
    [=](token_atom, std::uint64_t left) {
      if (left == 0)
        self->send(driver, done_atom::value);
      else
        self->send(self->state.next, token_atom::value, left - 1);
    },
  };
}

// ---------------------------------------------------------------------------
// Fork-join throughput: a driver actor sends `fj_messages` messages to each of
// `fj_actors` workers; each message costs one tiny computation.
// ---------------------------------------------------------------------------

struct fj_state {
  std::uint64_t seen = 0;
  double acc = 0;
};

caf::behavior fj_worker(caf::stateful_actor<fj_state>* self,
                        std::uint64_t expected, caf::actor driver) {
  return {
    [=](work_atom) {
      auto& st = self->state;
      st.acc += tiny_work(static_cast<double>(st.seen));
      if (++st.seen == expected) {
        self->send(driver, done_atom::value, st.acc);
        self->quit();
      }
    },
  };
}

// The sender is an actor too (not the main thread), so all of the workload
// runs on the `p.threads` scheduler workers; a main-thread sender (Savina's
// choice) measured ~25% slower here, an extra thread competing for the cores.
caf::behavior fj_sender(caf::event_based_actor* self,
                        std::vector<caf::actor> workers, std::uint64_t m) {
  return {
    [=](start_atom) {
      // Savina's order: round-robin over the workers, m rounds.
      for (std::uint64_t i = 0; i < m; ++i)
        for (auto& w : workers)
          self->send(w, work_atom::value);
      self->quit();
    },
  };
}

// ---------------------------------------------------------------------------
// Fork-join create: the main thread spawns `fjc_actors` actors and sends each
// one message (as Savina's driver does); each does the tiny computation,
// reports to a collector actor and terminates.
//
// Why the spawning is not done by a driver *actor*: CAF 0.17 puts actors
// spawned from inside an actor at the front of that worker's queue, and a
// thief steals from the back with `double_ended_queue::take_tail`, which walks
// the whole list. With 40k children queued up that is quadratic (measured
// 1.7-2.8 s instead of ~0.2 s, and 8-20 s for 80k), i.e. it would measure a
// scheduler quirk rather than actor creation. Spawning from the main thread
// (as Savina does) hands new actors round-robin to the workers instead.
// ---------------------------------------------------------------------------

caf::behavior fjc_worker(caf::event_based_actor* self, caf::actor collector) {
  return {
    [=](work_atom, double x) {
      self->send(collector, done_atom::value, tiny_work(x));
      self->quit();
    },
  };
}

struct fjc_state {
  std::uint64_t left = 0;
  double acc = 0;
};

// Counts the completion notices (control traffic, not counted) on a worker
// thread, so the main thread is not woken once per created actor.
caf::behavior fjc_collector(caf::stateful_actor<fjc_state>* self,
                            std::uint64_t n, caf::actor main_driver) {
  self->state.left = n;
  return {
    [=](done_atom, double r) {
      auto& st = self->state;
      st.acc += r;
      if (--st.left == 0) {
        self->send(main_driver, done_atom::value, st.acc);
        self->quit();
      }
    },
  };
}

// ---------------------------------------------------------------------------
// Big: `big_actors` workers; each sends `big_pings` pings, one at a time, to
// uniformly random other workers; the receiver answers pong to the sender.
// ---------------------------------------------------------------------------

struct big_state {
  std::minstd_rand rng;
  std::uint64_t sent = 0;
};

using peer_list = std::shared_ptr<std::vector<caf::actor>>;

caf::behavior big_worker(caf::stateful_actor<big_state>* self, int index,
                         peer_list peers, std::uint64_t pings,
                         caf::actor sink) {
  self->state.rng.seed(static_cast<std::minstd_rand::result_type>(index) + 1);
  // Each worker has one ping outstanding at a time, as in Savina: a pong (or
  // the start signal) triggers the next ping.
  auto next_ping = [=] {
    auto& st = self->state;
    if (st.sent == pings) {
      self->send(sink, done_atom::value);
      return;
    }
    ++st.sent;
    auto n = static_cast<int>(peers->size());
    std::uniform_int_distribution<int> pick(0, n - 2);
    auto target = pick(st.rng);
    if (target >= index)
      ++target;  // skip ourselves
    self->send((*peers)[static_cast<std::size_t>(target)], ping_atom::value);
  };
  return {
    [=](start_atom) { next_ping(); },
    [=](pong_atom) { next_ping(); },
    [](ping_atom) { return pong_atom::value; },
  };
}

// ---------------------------------------------------------------------------
// Chameneos: `cham_count` creatures meet at a mall until `cham_meetings`
// meetings have happened (Savina's variant of chameneos-redux).
// ---------------------------------------------------------------------------

// red = 0, yellow = 1, blue = 2; two different colours give the third.
inline std::int32_t complement(std::int32_t a, std::int32_t b) {
  return a == b ? a : 3 - a - b;
}

struct mall_state {
  std::uint64_t left = 0;        // meetings still to arrange
  caf::strong_actor_ptr waiting; // creature waiting for a partner
  std::uint64_t requests = 0;    // meet requests received
  std::uint64_t met = 0;         // sum of the creatures' meeting counts
  int faded = 0;                 // creatures that have stopped
};

caf::behavior mall_actor(caf::stateful_actor<mall_state>* self,
                         std::uint64_t meetings, int creatures,
                         caf::actor driver) {
  self->state.left = meetings;
  return {
    // A creature asks for a partner.
    [=](meet_atom, std::int32_t colour) {
      auto& st = self->state;
      ++st.requests;
      if (st.left == 0) {
        self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                   stop_atom::value);
        return;
      }
      if (!st.waiting) {
        st.waiting = self->current_sender();
        return;
      }
      --st.left;
      // Tell the waiting creature who its partner is; it answers the partner.
      self->send(caf::actor_cast<caf::actor>(st.waiting), meet_atom::value,
                 colour, caf::actor_cast<caf::actor>(self->current_sender()));
      st.waiting = nullptr;
    },
    [=](count_atom, std::uint64_t n) {
      auto& st = self->state;
      st.met += n;
      if (++st.faded == creatures) {
        self->send(driver, done_atom::value, st.requests, st.met);
        self->quit();
      }
    },
  };
}

struct creature_state {
  std::int32_t colour = 0;
  std::uint64_t meetings = 0;
};

caf::behavior creature_actor(caf::stateful_actor<creature_state>* self,
                             caf::actor mall, std::int32_t colour) {
  self->state.colour = colour;
  return {
    [=](start_atom) {
      self->send(mall, meet_atom::value, self->state.colour);
    },
    // Paired by the mall: both adopt the complement colour.
    [=](meet_atom, std::int32_t other_colour, caf::actor other) {
      auto& st = self->state;
      st.colour = complement(st.colour, other_colour);
      ++st.meetings;
      self->send(other, change_atom::value, st.colour);
      self->send(mall, meet_atom::value, st.colour);
    },
    [=](change_atom, std::int32_t new_colour) {
      auto& st = self->state;
      st.colour = new_colour;
      ++st.meetings;
      self->send(mall, meet_atom::value, st.colour);
    },
    [=](stop_atom) {
      self->send(mall, count_atom::value, self->state.meetings);
      self->quit();
    },
  };
}

}  // namespace

namespace savina::caf_impl {

// ---------------------------------------------------------------------------
// Benchmark drivers
// ---------------------------------------------------------------------------

result pingpong(const params& p) {
  bench_env env{p.threads};
  auto& sys = env.sys;
  caf::scoped_actor self{sys};
  // Untimed: the fixed pair of actors.
  auto pong = sys.spawn(pong_actor);
  auto ping = sys.spawn(ping_actor, pong, p.pingpong_n, caf::actor{self});
  auto t0 = clock_type::now();
  self->send(ping, start_atom::value);
  self->receive([](done_atom) {});
  result r{2 * p.pingpong_n, seconds_since(t0)};
  stop_all(self, {pong});
  return r;
}

result counting(const params& p) {
  bench_env env{p.threads};
  auto& sys = env.sys;
  caf::scoped_actor self{sys};
  // Untimed: producer and counter.
  auto counter = sys.spawn(counter_actor);
  auto producer = sys.spawn(producer_actor, counter, p.counting_n,
                            caf::actor{self});
  std::uint64_t total = 0;
  auto t0 = clock_type::now();
  self->send(producer, start_atom::value);
  self->receive([&](done_atom, std::uint64_t x) { total = x; });
  // n increments + the total request + its response.
  result r{p.counting_n + 2, seconds_since(t0)};
  stop_all(self, {counter});
  if (total != p.counting_n)
    throw std::runtime_error("savina::caf_impl::counting: counter reached " +
                             std::to_string(total) + ", expected " +
                             std::to_string(p.counting_n));
  return r;
}

result thread_ring(const params& p) {
  require(p.ring_actors >= 1, "ring_actors must be >= 1");
  bench_env env{p.threads};
  auto& sys = env.sys;
  caf::scoped_actor self{sys};
  // Untimed: spawn the ring and wire every member to its successor; waiting
  // for the acks makes sure no wiring work leaks into the timed region.
  std::vector<caf::actor> ring;
  ring.reserve(static_cast<std::size_t>(p.ring_actors));
  for (int i = 0; i < p.ring_actors; ++i)
    ring.push_back(sys.spawn(ring_actor, caf::actor{self}));
  for (std::size_t i = 0; i < ring.size(); ++i)
    self->send(ring[i], next_atom::value, ring[(i + 1) % ring.size()]);
  for (std::size_t i = 0; i < ring.size(); ++i)
    self->receive([](ack_atom) {});
  auto t0 = clock_type::now();
  self->send(ring[0], token_atom::value, p.ring_passes);
  self->receive([](done_atom) {});
  result r{p.ring_passes, seconds_since(t0)};
  stop_all(self, ring);  // members reference each other: stop explicitly
  return r;
}

result fork_join_throughput(const params& p) {
  require(p.fj_actors >= 1, "fj_actors must be >= 1");
  if (p.fj_messages == 0)
    return {};
  bench_env env{p.threads};
  auto& sys = env.sys;
  caf::scoped_actor self{sys};
  // Untimed: workers and the sending actor.
  std::vector<caf::actor> workers;
  workers.reserve(static_cast<std::size_t>(p.fj_actors));
  for (int i = 0; i < p.fj_actors; ++i)
    workers.push_back(sys.spawn(fj_worker, p.fj_messages, caf::actor{self}));
  auto sender = sys.spawn(fj_sender, workers, p.fj_messages);
  double acc = 0;
  auto t0 = clock_type::now();
  self->send(sender, start_atom::value);
  for (int i = 0; i < p.fj_actors; ++i)
    self->receive([&](done_atom, double x) { acc += x; });
  // Only work messages count; the per-worker done notices are control.
  result r{static_cast<std::uint64_t>(p.fj_actors) * p.fj_messages,
           seconds_since(t0)};
  g_work_sink = acc;
  return r;  // workers and sender have quit by themselves
}

result fork_join_create(const params& p) {
  if (p.fjc_actors == 0)
    return {};
  bench_env env{p.threads};
  auto& sys = env.sys;
  caf::scoped_actor self{sys};
  // Untimed: only the collector. Timed: spawning all workers, since creation
  // is what this benchmark measures.
  auto collector = sys.spawn(fjc_collector, p.fjc_actors, caf::actor{self});
  double acc = 0;
  auto t0 = clock_type::now();
  for (std::uint64_t i = 0; i < p.fjc_actors; ++i) {
    auto w = sys.spawn(fjc_worker, collector);
    self->send(w, work_atom::value, static_cast<double>(i));
  }
  self->receive([&](done_atom, double x) { acc = x; });
  // One message per created actor, as in Savina; done notices not counted.
  result r{p.fjc_actors, seconds_since(t0)};
  g_work_sink = acc;
  return r;
}

result big(const params& p) {
  require(p.big_actors >= 2, "big_actors must be >= 2");
  bench_env env{p.threads};
  auto& sys = env.sys;
  caf::scoped_actor self{sys};
  // Untimed: spawn the workers, then publish the peer list. It is filled
  // before any start message is sent, so the workers read it race-free.
  auto peers = std::make_shared<std::vector<caf::actor>>();
  peers->reserve(static_cast<std::size_t>(p.big_actors));
  for (int i = 0; i < p.big_actors; ++i)
    peers->push_back(
      sys.spawn(big_worker, i, peers, p.big_pings, caf::actor{self}));
  auto t0 = clock_type::now();
  for (auto& w : *peers)
    self->send(w, start_atom::value);
  for (int i = 0; i < p.big_actors; ++i)
    self->receive([](done_atom) {});
  result r{2 * static_cast<std::uint64_t>(p.big_actors) * p.big_pings,
           seconds_since(t0)};
  // Workers keep answering pings until everyone is done, so they are stopped
  // explicitly; clearing the list breaks the workers <-> list cycle.
  stop_all(self, *peers);
  peers->clear();
  return r;
}

result chameneos(const params& p) {
  require(p.cham_count >= 2, "cham_count must be >= 2");
  bench_env env{p.threads};
  auto& sys = env.sys;
  caf::scoped_actor self{sys};
  // Untimed: mall and creatures.
  auto mall = sys.spawn(mall_actor, p.cham_meetings, p.cham_count,
                        caf::actor{self});
  std::vector<caf::actor> creatures;
  creatures.reserve(static_cast<std::size_t>(p.cham_count));
  for (int i = 0; i < p.cham_count; ++i)
    creatures.push_back(
      sys.spawn(creature_actor, mall, static_cast<std::int32_t>(i % 3)));
  std::uint64_t requests = 0;
  std::uint64_t met = 0;
  auto t0 = clock_type::now();
  for (auto& c : creatures)
    self->send(c, start_atom::value);
  self->receive([&](done_atom, std::uint64_t req, std::uint64_t m) {
    requests = req;
    met = m;
  });
  auto secs = seconds_since(t0);
  // Every meeting is counted by both partners: one got the mall's meet
  // notice, the other the partner's change message.
  const auto c = static_cast<std::uint64_t>(p.cham_count);
  if (met != 2 * p.cham_meetings || requests != 2 * p.cham_meetings + c)
    throw std::runtime_error("savina::caf_impl::chameneos: inconsistent "
                             "meeting count");
  // requests + meet notices + change messages + stop + final counts.
  return {requests + met + 2 * c, secs};
}

// ---------------------------------------------------------------------------
// Idle actor footprint
// ---------------------------------------------------------------------------

namespace {

std::size_t heap_in_use() {
  auto mi = mallinfo2();
  // uordblks: in-use bytes of all arenas; hblkhd: mmap'ed large blocks.
  return mi.uordblks + mi.hblkhd;
}

caf::behavior idle_actor() {
  return {
    [](ping_atom) { return pong_atom::value; },
  };
}

}  // namespace

std::size_t idle_actor_bytes(int n) {
  require(n >= 1, "idle_actor_bytes: n must be >= 1");
  bench_env env{1};  // one worker is enough: the footprint is per actor
  auto& sys = env.sys;
  caf::scoped_actor self{sys};
  std::vector<caf::actor> actors;
  actors.reserve(static_cast<std::size_t>(n));  // not part of the footprint
  auto before = heap_in_use();
  for (int i = 0; i < n; ++i)
    actors.push_back(sys.spawn(idle_actor));
  // Event-based actors build their behavior asynchronously on a worker; one
  // round trip per actor makes sure every actor is initialised and idle again
  // (the round-trip messages are freed before measuring).
  for (auto& a : actors)
    self->send(a, ping_atom::value);
  for (int i = 0; i < n; ++i)
    self->receive([](pong_atom) {});
  auto after = heap_in_use();
  stop_all(self, actors);
  actors.clear();
  return after > before ? (after - before) / static_cast<std::size_t>(n) : 0;
}

}  // namespace savina::caf_impl
