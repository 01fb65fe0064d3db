// The shard's side of durable actors: turn accounting, the group commit at the
// end of each pass with the output it releases, reset after a failed commit,
// and hibernation (idle list, idle timeout, resident cap).
#include <sqlite3.h>

#include <cstring>

#include <cairn/actor.hpp>
#include <cairn/detail/runtime_core.hpp>
#include <cairn/errors.hpp>

#include "alarm_index.hpp"
#include "shard_internals.hpp"
#include "storage/storage_engine.hpp"

namespace cairn::detail {

// ---- turns ----

void shard::begin_turn(actor& a) noexcept {
  if (a.idle_linked_) unlink_idle(a);
  ++a.open_turns_;
}

void shard::end_turn(actor& a) noexcept {
  if (--a.open_turns_ != 0) return;
  if (a.reset_) {
    graveyard_.push_back(&a);  // an orphan of a failed commit: its last turn ended
    return;
  }
  maybe_idle(a);
}

void shard::hold_reply(actor& a, message* m) { actor_access::engine(a)->hold(m, true); }

void hold_output(actor& from, message* m) { actor_access::engine(from)->hold(m, false); }

// Released like a reply: run at the commit, failed if it fails.
void hold_effect(actor& from, work_item* w) { actor_access::engine(from)->hold(w, true); }

// ---- the idle list ----

void shard::link_idle(actor& a) noexcept {
  a.idle_prev_ = idle_tail_;
  a.idle_next_ = nullptr;
  if (idle_tail_) idle_tail_->idle_next_ = &a; else idle_head_ = &a;
  idle_tail_ = &a;
  a.idle_linked_ = true;
  a.idle_since_ms_ = now_ms_;
}

void shard::unlink_idle(actor& a) noexcept {
  if (&a == closed_upto_) closed_upto_ = a.idle_prev_;
  if (a.idle_prev_) a.idle_prev_->idle_next_ = a.idle_next_; else idle_head_ = a.idle_next_;
  if (a.idle_next_) a.idle_next_->idle_prev_ = a.idle_prev_; else idle_tail_ = a.idle_prev_;
  a.idle_prev_ = a.idle_next_ = nullptr;
  a.idle_linked_ = false;
}

void shard::maybe_idle(actor& a) noexcept {
  if (a.open_turns_ != 0 || !a.mailbox_.empty() || a.scheduled_ || a.blocked_ != 0 || a.unflushed_ || a.reset_ ||
      a.failed_)
    return;
  if (a.idle_linked_) {
    if (&a == idle_tail_) {
      a.idle_since_ms_ = now_ms_;
      return;
    }
    unlink_idle(a);
  }
  link_idle(a);
  if (core_.options().max_resident_actors != 0) need_collect_ = true;
}

void shard::evict(actor& a) noexcept {
  unlink_idle(a);
  dir_->by_namespace[a.id_.ns()->index].erase(a.id_.value());
  delete &a;  // destructor runs, database closed (in-memory ones are kept)
}

void shard::collect() noexcept {
  for (actor* a : graveyard_) delete a;
  graveyard_.clear();
  need_collect_ = false;
  const std::size_t cap = core_.options().max_resident_actors;
  if (cap == 0) return;
  std::uint64_t resident = resident_actors();
  while (resident > cap && idle_head_) {
    evict(*idle_head_);
    --resident;
  }
}

void shard::refresh_now() noexcept {
  now_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(core_.clock().now().time_since_epoch()).count();
}

// ---- open database files ----

void shard::database_opening() noexcept {
  const std::size_t budget = core_.database_budget();
  bool prefix = true;  // every actor before `a` holds no open file
  for (actor* a = closed_upto_ ? closed_upto_->idle_next_ : idle_head_; a && open_databases_ >= budget;
       a = a->idle_next_) {
    auto* e = actor_access::engine(*a);
    if (e && e->holds_open_file()) e->close_idle();
    if (!e || !e->holds_open_file()) {
      if (prefix) closed_upto_ = a;
    } else {
      prefix = false;  // could not close it (a transaction is open)
    }
  }
}

// ---- in-memory databases ----

shard::memory_dbs::~memory_dbs() {
  for (auto& [k, db] : dbs) sqlite3_close_v2(db);
}

void shard::keep_memory_db(const actor_id& id, sqlite3* db) {
  auto [it, fresh] = memory_dbs_->dbs.emplace(actor_key{id.ns()->index, id.value()}, db);
  if (!fresh) {
    sqlite3_close_v2(it->second);
    it->second = db;
  }
}

sqlite3* shard::take_memory_db(const actor_id& id) noexcept {
  auto it = memory_dbs_->dbs.find(actor_key{id.ns()->index, id.value()});
  if (it == memory_dbs_->dbs.end()) return nullptr;
  sqlite3* db = it->second;
  memory_dbs_->dbs.erase(it);
  return db;
}

bool shard::has_memory_db(const actor_id& id) const noexcept {
  return memory_dbs_->dbs.count(actor_key{id.ns()->index, id.value()}) != 0;
}

// ---- the group commit ----

void shard::remove_dirty(storage_engine* e) noexcept { std::erase(dirty_, e); }

void shard::flush() noexcept {
  if (dirty_.empty()) return;
  flushing_.swap(dirty_);
  alarm_index* index = core_.alarm_index_or_null();

  // The alarm index learns of new alarms before the actors commit them: a
  // crash in between leaves an entry whose actor has no alarm (harmless),
  // never an alarm the index does not know.
  // Whether the commit of `e` sets an alarm the index must know first.
  auto sets_indexed_alarm = [index](const storage_engine* e) {
    return index && e->alarm_changed() && e->pending_alarm() && e->mode() != durability::memory;
  };
  std::vector<alarm_index::entry> upserts;
  for (storage_engine* e : flushing_)
    if (sets_indexed_alarm(e))
      upserts.push_back({e->owner().id().namespace_name(), value_hex(e->owner().id().value()), e->pending_alarm()->at_ms});
  bool index_ok = true;
  if (!upserts.empty()) {
    try {
      index->upsert(upserts);
    } catch (...) {
      index_ok = false;
      core_.report_unhandled(std::current_exception(), "the alarm index");
    }
  }

  // Every commit first (SQLite writes the WAL of a `full` database without
  // an fsync; the commit log gets copies of the writes). Output of commits that changed a `full` database goes to this
  // pass's epoch, which the node's group sync (src/group_sync.hpp) makes
  // durable together with every other shard's, while this shard goes on;
  // output of an actor whose earlier commit awaits its sync joins that
  // commit's epoch; the rest leaves now.
  // (0: failed, 1: committed, 2: committed writes to a `full` database)
  std::vector<char> committed(flushing_.size());
  for (std::size_t i = 0; i < flushing_.size(); ++i) {
    storage_engine* e = flushing_[i];
    const bool wrote = e->wrote_in_pass();
    const bool ok = (index_ok || !sets_indexed_alarm(e)) ? e->commit() : (e->commit_refused(), false);
    committed[i] = ok ? (wrote && e->mode() == durability::full ? 2 : 1) : 0;
  }
  std::uint64_t epoch = 0;
  for (std::size_t i = 0; i < flushing_.size(); ++i) {
    storage_engine* e = flushing_[i];
    actor& a = e->owner();
    release_entry r{a.id(), e->take_held(), e->alarm_changed(), e->pending_alarm()};
    e->clear_alarm_change();
    sync_batches::batch* awaited = nullptr;
    if (committed[i] == 0) {
      fail_entry(r, reset_error(a));
      reset_actor(a);
    } else if (committed[i] == 2) {
      if (epoch == 0) {
        epoch = ++last_epoch_;
        syncs_->pending.push_back({epoch, {}});
      }
      e->await_sync(epoch);
      syncs_->pending.back().entries.push_back(std::move(r));
    } else if (e->sync_epoch() > synced_epoch_ && (awaited = syncs_->find(e->sync_epoch()))) {
      awaited->entries.push_back(std::move(r));
    } else {
      e->await_sync(0);
      a.unflushed_ = false;
      release(r);
      maybe_idle(a);
    }
  }
  flushing_.clear();
  if (epoch != 0) core_.syncer()->request(index_, epoch);
  drop_index_removals();
}

void shard::release_synced() noexcept {
  auto& outcomes = syncs_->outcomes;
  core_.syncer()->take(index_, outcomes);
  for (const auto& o : outcomes) {
    if (o.epoch <= synced_epoch_) continue;  // failed already, with an earlier sync
    if (o.error == 0) {
      while (!syncs_->pending.empty() && syncs_->pending.front().epoch <= o.epoch) {
        auto b = std::move(syncs_->pending.front());
        syncs_->pending.pop_front();
        for (auto& r : b.entries) release(r);
        for (auto& r : b.entries) after_sync(r.id, b.epoch);
      }
      synced_epoch_ = o.epoch;
      continue;
    }
    // The file system could not make the commits durable (after such an
    // error Linux may have dropped the pages it could not write). Every
    // epoch still awaited is built on them: all of it fails, and its actors
    // restart from what the files hold.
    core_.report_unhandled(
        std::make_exception_ptr(storage_error(storage_error::reason::io,
                                              std::string("cairn: syncing the data directory failed: ") +
                                                  std::strerror(o.error))),
        "the group sync");
    auto failed = std::move(syncs_->pending);
    syncs_->pending.clear();
    synced_epoch_ = last_epoch_;
    for (auto& b : failed) {
      for (auto& r : b.entries) {
        actor* a = find(r.id);
        fail_entry(r, a ? reset_error(*a) : std::make_exception_ptr(storage_error(
                                                storage_error::reason::commit_failed,
                                                "cairn: the commit of " + r.id.namespace_name() + "/" +
                                                    r.id.to_string() + " could not be made durable")));
        if (a) reset_actor(*a);
      }
    }
  }
  drop_index_removals();
}

void shard::release(release_entry& r) {
  if (r.alarm_changed) {
    if (r.alarm) {
      schedule_alarm(r.id, r.alarm->at_ms);
    } else {
      unschedule_alarm(r.id);
      if (r.id.ns()->durability != durability::memory) syncs_->index_removals.push_back(r.id);
    }
  }
  for (auto& h : r.held) {
    if (h.reply) {
      h.item->fn_(h.item, op::run, {});
    } else {
      auto* m = static_cast<message*>(h.item);
      shard& target = core_.shard_for(m->id_);
      if (&target == this) deliver(m); else target.post_remote(m);
    }
  }
  r.held.clear();
}

void shard::fail_entry(release_entry& r, const std::exception_ptr& err) {
  for (auto& h : r.held) h.item->fn_(h.item, op::fail, err);
  r.held.clear();
}

void shard::after_sync(const actor_id& id, std::uint64_t epoch) {
  actor* a = find(id);
  storage_engine* e = a ? actor_access::engine(*a) : nullptr;
  if (!e || e->sync_epoch() == 0 || e->sync_epoch() > epoch) return;
  e->await_sync(0);
  if (e->wrote_in_pass()) return;  // the gate stays for this pass's writes
  // Output it held since its commit waits for nothing now; it goes first, so
  // that what the actor sends next does not overtake it.
  a->unflushed_ = false;
  release_entry r{id, e->take_held(), false, {}};
  release(r);
  maybe_idle(*a);
}

std::uint64_t shard::awaited_epoch(const actor_id& id) const noexcept {
  for (auto it = syncs_->pending.rbegin(); it != syncs_->pending.rend(); ++it)
    for (const auto& r : it->entries)
      if (r.id == id) return it->epoch;
  return 0;
}

void shard::drop_index_removals() noexcept {
  auto& ids = syncs_->index_removals;
  alarm_index* index = core_.alarm_index_or_null();
  if (ids.empty() || !index) {
    ids.clear();
    return;
  }
  std::vector<alarm_index::entry> removals;
  for (const auto& id : ids) removals.push_back({id.namespace_name(), value_hex(id.value()), 0});
  ids.clear();
  try {
    index->remove(removals);
  } catch (...) {
    core_.report_unhandled(std::current_exception(), "the alarm index");  // a stale entry only wakes the actor
  }
}

std::exception_ptr reset_error(const actor& a) {
  return std::make_exception_ptr(storage_error(
      storage_error::reason::commit_failed,
      "cairn: the commit of " + a.id().namespace_name() + "/" + a.id().to_string() +
          " failed, so its output is void; the actor restarts from its last commit"));
}

void shard::reset_actor(actor& a) noexcept {
  a.reset_ = true;
  a.unflushed_ = false;  // nothing it makes is held now: it fails (was_reset)
  if (a.storage_) a.storage_->break_after_failed_commit();
  auto& m = dir_->by_namespace[a.id_.ns()->index];
  if (auto it = m.find(a.id_.value()); it != m.end() && it->second == &a) m.erase(it);
  if (a.idle_linked_) unlink_idle(a);
  unschedule(a);
  item_queue waiting;
  while (work_item* w = a.mailbox_.pop()) waiting.push(w);
  if (a.open_turns_ == 0) graveyard_.push_back(&a);
  // Messages that were waiting for the old instance go to a fresh one.
  while (work_item* w = waiting.pop()) deliver(static_cast<message*>(w));
}

}  // namespace cairn::detail
