// JS actors: ctx.storage as Durable Objects document it (KV, SQL,
// transactionSync, alarms), values by structured clone, limits, and resets.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

#include "js_fixture.hpp"

using cairn_test::js_world;
namespace json = boost::json;

namespace {

const char* store_js = R"js(
import { DurableObject } from "cloudflare:workers";
export class Store extends DurableObject {
  async kv() {
    const s = this.ctx.storage;
    await s.put({ "b": 2, "a": 1, "c/1": 3, "c/2": 4, "d": 5 });
    const all = [...(await s.list()).keys()];
    const prefixed = [...(await s.list({ prefix: "c/" })).entries()];
    const ranged = [...(await s.list({ start: "b", end: "d" })).keys()];
    const after = [...(await s.list({ startAfter: "b", limit: 2 })).keys()];
    const reversed = [...(await s.list({ reverse: true, limit: 2 })).keys()];
    const many = await s.get(["d", "zz", "a"]);
    const one = await s.get("zz");
    const deletedOne = await s.delete("a");
    const deletedNone = await s.delete("a");
    const deletedMany = await s.delete(["b", "d", "nope"]);
    const left = [...(await s.list()).keys()];
    await s.deleteAll();
    const none = (await s.list()).size;
    return { all, prefixed, ranged, after, reversed, many: [...many.entries()], one: one === undefined,
             deletedOne, deletedNone, deletedMany, left, none };
  }
  async clone() {
    const s = this.ctx.storage;
    const v = { when: new Date(1234), m: new Map([[1, "one"]]), set: new Set(["x"]),
                bytes: new Uint8Array([7, 8, 9]), big: 10n ** 20n, re: /a+b/g, nested: [[1], { k: null }] };
    v.cycle = v;
    await s.put("v", v);
    const b = await s.get("v");
    return [b.when.getTime(), b.m.get(1), b.set.has("x"), b.bytes instanceof Uint8Array && b.bytes[2],
            String(b.big), b.re.source + b.re.flags, JSON.stringify(b.nested), b.cycle === b];
  }
  async bad(which) {
    const s = this.ctx.storage;
    try {
      if (which === "function") await s.put("f", () => 1);
      if (which === "undefined") await s.put("u", undefined);
      if (which === "huge") await s.put("h", "x".repeat(3 * 1024 * 1024));
      if (which === "batch") { const o = {}; for (let i = 0; i < 129; i++) o["k" + i] = i; await s.put(o); }
      if (which === "getbatch") await s.get(Array.from({ length: 129 }, (_, i) => "k" + i));
      if (which === "limit") await s.list({ limit: 0 });
      return "no error";
    } catch (e) {
      return e.name + ": " + e.message;
    }
  }
  async after_bad() { return [...(await this.ctx.storage.list()).keys()]; }
  sql() {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)");
    const ins = sql.exec("INSERT INTO t (name, score, data) VALUES (?, ?, ?), (?, ?, ?)",
                         "ann", 1.5, new Uint8Array([1, 2]), "bob", 2, null);
    const rows = sql.exec("SELECT id, name, score FROM t ORDER BY id").toArray();
    const raw = sql.exec("SELECT name FROM t ORDER BY id").raw().toArray();
    const cursor = sql.exec("SELECT name, score FROM t WHERE score > ?", 1);
    const names = cursor.columnNames;
    const iterated = [];
    for (const r of cursor) iterated.push(r.name);
    const one = sql.exec("SELECT count(*) AS n FROM t").one().n;
    let none = "", many = "", bad = "";
    try { sql.exec("SELECT * FROM t WHERE id = 99").one(); } catch (e) { none = e.message; }
    try { sql.exec("SELECT * FROM t").one(); } catch (e) { many = e.message; }
    try { sql.exec("SELEKT 1"); } catch (e) { bad = e.message; }
    const blob = sql.exec("SELECT data FROM t WHERE name = 'ann'").one().data;
    return { written: ins.rowsWritten, rows, raw, names, iterated, one, none, many, bad: bad.includes("syntax error"),
             blob: [blob instanceof ArrayBuffer, new Uint8Array(blob)[1]], size: sql.databaseSize > 0 };
  }
  txn() {
    const s = this.ctx.storage;
    s.sql.exec("CREATE TABLE IF NOT EXISTS n (v INTEGER)");
    const kept = s.transactionSync(() => { s.sql.exec("INSERT INTO n VALUES (1)"); s.kv.put("k", "kept"); return "ok"; });
    let thrown = "";
    try {
      s.transactionSync(() => { s.sql.exec("INSERT INTO n VALUES (2)"); s.kv.put("k", "lost"); throw new Error("undo"); });
    } catch (e) { thrown = e.message; }
    return [kept, thrown, s.sql.exec("SELECT v FROM n").raw().toArray(), s.kv.get("k")];
  }
  async setAlarmIn(ms) { await this.ctx.storage.setAlarm(Date.now() + ms); return (await this.ctx.storage.getAlarm()) !== null; }
  async clearAlarm() { await this.ctx.storage.deleteAlarm(); return await this.ctx.storage.getAlarm(); }
  async alarm(info) {
    const n = ((await this.ctx.storage.get("alarms")) ?? 0) + 1;
    await this.ctx.storage.put("alarms", n);
    await this.ctx.storage.put("retry", info.retryCount);
    if (n === 1 && (await this.ctx.storage.get("failFirst"))) throw new Error("first alarm fails");
  }
  async failFirstAlarm() { await this.ctx.storage.put("failFirst", true); }
  async alarms() { return [(await this.ctx.storage.get("alarms")) ?? 0, (await this.ctx.storage.get("retry")) ?? -1]; }
  spin() { for (;;) {} }
  bomb() { this.hoard = []; for (;;) this.hoard.push(new Array(100000).fill(7)); }
  async hang() { await new Promise(() => {}); }
  async hangAfterWrite() { await this.ctx.storage.put("half", 1); await new Promise(() => {}); }
  async half() { return (await this.ctx.storage.get("half")) ?? 0; }
  async hello() { return "hello"; }
  async syncs() {
    const s = this.ctx.storage;
    const idle = await Promise.race([s.sync(), Promise.resolve("pending")]);  // nothing written: settled
    await s.put("synced", 1);
    const p = s.sync();
    const busy = await Promise.race([p, Promise.resolve("pending")]);  // settles only after the slice
    await p;
    return [idle === undefined ? "settled" : idle, busy, await s.get("synced")];
  }
}
)js";

}  // namespace

BOOST_AUTO_TEST_SUITE(js_storage)

BOOST_AUTO_TEST_CASE(kv_keeps_key_order_bounds_batches_and_delete_all) {
  js_world w;
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(json::serialize(w.call(ns, "s", "kv")) ==
             R"({"all":["a","b","c/1","c/2","d"],"prefixed":[["c/1",3],["c/2",4]],"ranged":["b","c/1","c/2"],)"
             R"("after":["c/1","c/2"],"reversed":["d","c/2"],"many":[["a",1],["d",5]],"one":true,)"
             R"("deletedOne":true,"deletedNone":false,"deletedMany":2,"left":["c/1","c/2"],"none":0})");
}

BOOST_AUTO_TEST_CASE(values_are_stored_by_structured_clone) {
  js_world w;
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(json::serialize(w.call(ns, "s", "clone")) ==
             R"([1234,"one",true,9,"100000000000000000000","a+bg","[[1],{\"k\":null}]",true])");
}

BOOST_AUTO_TEST_CASE(bad_values_and_batches_are_refused_and_lose_nothing) {
  js_world w;
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(w.call(ns, "s", "bad", {"function"}).as_string().find("could not be cloned") != std::string::npos);
  BOOST_TEST(w.call(ns, "s", "bad", {"undefined"}).as_string().find("undefined") != std::string::npos);
  BOOST_TEST(w.call(ns, "s", "bad", {"huge"}).as_string().find("limit") != std::string::npos);
  BOOST_TEST(w.call(ns, "s", "bad", {"batch"}).as_string().find("at most 128") != std::string::npos);
  BOOST_TEST(w.call(ns, "s", "bad", {"getbatch"}).as_string().find("128") != std::string::npos);
  BOOST_TEST(w.call(ns, "s", "bad", {"limit"}).as_string().find("positive integer") != std::string::npos);
  BOOST_TEST(json::serialize(w.call(ns, "s", "after_bad")) == "[]");
}

BOOST_AUTO_TEST_CASE(sql_cursors_iterate_convert_and_report) {
  js_world w;
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(json::serialize(w.call(ns, "s", "sql")) ==
             R"({"written":2,"rows":[{"id":1,"name":"ann","score":1.5E0},{"id":2,"name":"bob","score":2}],)"
             R"("raw":[["ann"],["bob"]],"names":["name","score"],"iterated":["ann","bob"],"one":2,)"
             R"("none":"Expected exactly one result from SQL query, but got no results.",)"
             R"("many":"Expected exactly one result from SQL query, but got multiple results.","bad":true,)"
             R"("blob":[true,2],"size":true})");
}

BOOST_AUTO_TEST_CASE(transaction_sync_rolls_back_what_a_throw_left) {
  js_world w;
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(json::serialize(w.call(ns, "s", "txn")) == R"(["ok","undo",[[1]],"kept"])");
}

BOOST_AUTO_TEST_CASE(transaction_commits_or_rolls_back_what_its_callback_wrote) {
  js_world w;
  auto ns = w.add("TXN", "T", R"js(
    export class T {
      constructor(ctx, env) { this.ctx = ctx; this.env = env; }
      commitBoth() {
        return this.ctx.storage.transaction(async (txn) => {
          await txn.put("a", 1);
          await txn.put({ b: 2 });
          return (await txn.get("a")) + (await txn.get("b"));
        });
      }
      throwAfterWrite() {
        return this.ctx.storage.transaction(async (txn) => { await txn.put("c", 3); throw new RangeError("no"); });
      }
      async explicitRollback() {
        const r = await this.ctx.storage.transaction(async (txn) => { await txn.put("d", 4); txn.rollback(); return "rolled"; });
        return [r, await this.ctx.storage.get("d") ?? null];
      }
      nested() {
        return this.ctx.storage.transaction(async (outer) => {
          await outer.put("e", 5);
          try {
            await this.ctx.storage.transaction(async (inner) => { await inner.put("f", 6); throw new Error("inner"); });
          } catch (e) { return e.message; }
        });
      }
      awaitsAnotherActor() {
        return this.ctx.storage.transaction(async (txn) => {
          await txn.put("g", 7);
          await this.env.SELF.getByName("peer").ping();
          await txn.put("h", 8);
        });
      }
      async afterAbandoned() { return [...(await this.ctx.storage.list()).keys()]; }
      ping() { return 1; }
    }
  )js", {{"SELF", "TXN"}});
  BOOST_TEST(w.call(ns, "t", "commitBoth").as_int64() == 3);
  BOOST_TEST(w.error_of(ns, "t", "throwAfterWrite") == "RangeError: no");
  BOOST_TEST(json::serialize(w.call(ns, "t", "explicitRollback")) == R"(["rolled",null])");
  BOOST_TEST(w.call(ns, "t", "nested").as_string() == "inner");
  BOOST_TEST(w.error_of(ns, "t", "awaitsAnotherActor").find("storage.transaction() was rolled back: its callback "
                                                           "awaited something other than storage") == 7);
  // a and b committed; c, d, f and g were rolled back; h was never written.
  BOOST_TEST(json::serialize(w.call(ns, "t", "afterAbandoned")) == R"(["a","b","e"])");
}

BOOST_AUTO_TEST_CASE(alarms_fire_can_be_deleted_and_retry_with_the_count) {
  js_world w;
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(w.call(ns, "a", "setAlarmIn", {30}).as_bool());
  BOOST_TEST(w.call(ns, "b", "setAlarmIn", {60'000}).as_bool());
  BOOST_TEST(w.call(ns, "b", "clearAlarm").is_null());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (w.call(ns, "a", "alarms").as_array()[0].as_int64() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_TEST(json::serialize(w.call(ns, "a", "alarms")) == "[1,0]");
  BOOST_TEST(json::serialize(w.call(ns, "b", "alarms")) == "[0,-1]");
  // A failing alarm is retried (after ~2 s of backoff) and learns the retry count.
  w.call(ns, "c", "failFirstAlarm");
  BOOST_TEST(w.call(ns, "c", "setAlarmIn", {10}).as_bool());
  while (w.call(ns, "c", "alarms").as_array()[0].as_int64() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(json::serialize(w.call(ns, "c", "alarms")) == "[2,1]");
}

BOOST_AUTO_TEST_CASE(a_runaway_event_is_stopped_and_its_actor_reset_while_others_serve) {
  js_world w;
  w.limits.cpu_per_slice = std::chrono::milliseconds(100);
  auto ns = w.add("STORE", "Store", store_js);
  const std::string error = w.error_of(ns, "r", "spin");
  BOOST_TEST_INFO(error);
  BOOST_TEST(error.find("more than 100 ms of CPU time") != std::string::npos);
  BOOST_TEST(w.call(ns, "r", "hello").as_string() == "hello");
  BOOST_TEST(w.call(ns, "other", "hello").as_string() == "hello");
}

BOOST_AUTO_TEST_CASE(an_event_that_never_settles_fails_at_its_wall_limit) {
  js_world w;
  w.limits.wall_per_event = std::chrono::milliseconds(200);
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(w.error_of(ns, "h", "hang") == "the event did not finish within 200 ms; the actor was reset");
  BOOST_TEST(w.call(ns, "h", "hello").as_string() == "hello");
  // What the event wrote before it hung was committed (its segment ended at the await).
  BOOST_TEST(w.error_of(ns, "h", "hangAfterWrite").find("did not finish") != std::string::npos);
  BOOST_TEST(w.call(ns, "h", "half").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(an_event_that_computes_across_many_slices_fails_at_its_cpu_limit) {
  js_world w;
  w.limits.cpu_per_event = std::chrono::milliseconds(300);
  auto ns = w.add("SPIN", "S", R"js(
    export class S {
      constructor(ctx, env) { this.ctx = ctx; this.env = env; }
      burn(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
      async spinAcrossAwaits(rounds) {
        for (let i = 0; i < rounds; i++) {
          this.burn(60);                                    // under the per-slice limit each time
          await this.env.SELF.getByName("peer").ping();     // ends the slice
        }
        return "done";
      }
      ping() { return 1; }
    }
  )js", {{"SELF", "SPIN"}});
  BOOST_TEST(w.call(ns, "s", "spinAcrossAwaits", {2}).as_string() == "done");  // about 120 ms
  BOOST_TEST(w.error_of(ns, "s", "spinAcrossAwaits", {50}) ==
             "the event used more than 300 ms of CPU time in all; the actor was reset");
  BOOST_TEST(w.call(ns, "s", "spinAcrossAwaits", {1}).as_string() == "done");  // a new object serves
}

BOOST_AUTO_TEST_CASE(a_heap_bomb_replaces_the_class_isolate_and_rebuilds_its_objects) {
  js_world w(1);  // one shard: every actor of the class shares the isolate
  w.limits.heap_bytes = 64u << 20;
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(w.call(ns, "b", "setAlarmIn", {600'000}).as_bool());  // b has state on disk
  const std::string error = w.error_of(ns, "a", "bomb");
  BOOST_TEST(error.find("passed its heap limit of 64 MiB") != std::string::npos, error);
  BOOST_TEST(w.call(ns, "a", "hello").as_string() == "hello");  // a new isolate, a new object
  BOOST_TEST(w.call(ns, "b", "clearAlarm").is_null());          // b, rebuilt too, reads its storage
  BOOST_TEST(w.call(ns, "c", "hello").as_string() == "hello");
}

// sync() waits for the writes made so far to be durable (with `full`, for
// the group sync that covers their commit); it is settled when none waits.
BOOST_AUTO_TEST_CASE(sync_settles_once_the_writes_are_durable) {
  for (auto d : {cairn::durability::full, cairn::durability::normal}) {
    js_world w(2, d);
    auto ns = w.add("STORE", "Store", store_js);
    BOOST_TEST(json::serialize(w.call(ns, "s", "syncs")) == R"(["settled","pending",1])");
  }
}

BOOST_AUTO_TEST_CASE(a_new_alarm_replaces_the_one_set_before) {
  js_world w;
  auto ns = w.add("STORE", "Store", store_js);
  BOOST_TEST(w.call(ns, "p", "setAlarmIn", {10}).as_bool());
  BOOST_TEST(w.call(ns, "p", "setAlarmIn", {600'000}).as_bool());  // moved away: not in 10 ms
  BOOST_TEST(w.call(ns, "o", "setAlarmIn", {600'000}).as_bool());
  BOOST_TEST(w.call(ns, "o", "setAlarmIn", {300}).as_bool());      // moved closer: in 300 ms
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (w.call(ns, "o", "alarms").as_array()[0].as_int64() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_TEST(json::serialize(w.call(ns, "o", "alarms")) == "[1,0]");
  // p's first alarm was due ~290 ms before o's fired: it would have fired by now.
  BOOST_TEST(json::serialize(w.call(ns, "p", "alarms")) == "[0,-1]");
}

BOOST_AUTO_TEST_SUITE_END()
