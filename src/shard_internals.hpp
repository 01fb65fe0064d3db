#pragma once
// The private tables of a shard, shared by the files that implement it
// (shard.cpp: the loop; residency.cpp: turns, the gate, hibernation;
// alarms.cpp: the alarm schedule).
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <compare>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <cairn/actor_id.hpp>
#include <cairn/detail/shard.hpp>

#include "group_sync.hpp"
#include "storage/storage_engine.hpp"

struct sqlite3;

namespace cairn::detail {

struct shard::directory {
  struct value_hash {
    using is_avalanching = void;  // id values are uniformly random already
    std::size_t operator()(const actor_id::value_type& v) const noexcept {
      std::uint64_t x;
      std::memcpy(&x, v.data() + 8, sizeof x);  // low bits pick the shard
      return x;
    }
  };
  struct value_equal {
    bool operator()(const actor_id::value_type& a, const actor_id::value_type& b) const noexcept {
      std::uint64_t x[2], y[2];
      std::memcpy(x, a.data(), sizeof x);
      std::memcpy(y, b.data(), sizeof y);
      return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
    }
  };
  using map = boost::unordered_flat_map<actor_id::value_type, actor*, value_hash, value_equal>;
  std::vector<map> by_namespace;
};

/// An actor's identity without its namespace pointer, ordered.
struct actor_key {
  std::uint32_t ns;
  actor_id::value_type value;
  friend auto operator<=>(const actor_key&, const actor_key&) = default;
};

struct shard::alarm_schedule {
  std::map<actor_key, std::int64_t> at;              // the scheduled time of each actor's alarm
  std::set<std::pair<std::int64_t, actor_key>> due;  // the same, by time
};

struct shard::memory_dbs {
  std::map<actor_key, sqlite3*> dbs;
  ~memory_dbs();
};

/// One actor's output of one commit, and the alarm change it made: released
/// together once the commit is durable. By id, not by pointer: the actor may
/// be reset (and another instance made) before its epoch's sync returns.
struct shard::release_entry {
  actor_id id;
  std::vector<held_output> held;
  bool alarm_changed = false;
  std::optional<stored_alarm> alarm;
};

/// The epochs committed and not yet made durable, oldest first.
struct shard::sync_batches {
  struct batch {
    std::uint64_t epoch;
    std::vector<release_entry> entries;
  };
  std::deque<batch> pending;
  std::vector<group_sync::outcome> outcomes;  // buffer for group_sync::take
  std::vector<actor_id> index_removals;       // alarms deleted by released commits
  batch* find(std::uint64_t epoch) noexcept {
    for (auto it = pending.rbegin(); it != pending.rend(); ++it)
      if (it->epoch == epoch) return &*it;
    return nullptr;
  }
};

struct shard::tick_timer {
  explicit tick_timer(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
};

}  // namespace cairn::detail
