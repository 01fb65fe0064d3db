#pragma once
// One JS class on one shard: its isolate and context, the module evaluated
// once, the actors' objects, and the promises C++ awaits. JavaScript runs only
// inside slice(): with the watchdog armed, as the actor it belongs to, and
// with the microtasks drained before it returns; the writes it made end their
// segment there. Private to actors/js.
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>
#include <v8.h>

#include <cairn/http/message.hpp>
#include <cairn/js/js_actor.hpp>
#include <cairn/sandbox/fetch_policy.hpp>
#include <cairn/task.hpp>

#include "registry_state.hpp"
#include "sandbox/guest_scope.hpp"
#include "sandbox/tenant_isolate.hpp"

namespace cairn::js::detail {

class class_host;

/// What a fetch handler's Request is made of (an absolute URL from Host).
sandbox::outbound_request outbound_of(http::request& request);

/// A JS promise that a C++ coroutine awaits: `co_await w` after start_event.
/// It keeps its host alive (an actor may move to a new host meanwhile).
class settle_wait {
 public:
  explicit settle_wait(class_host& host);
  ~settle_wait();
  settle_wait(const settle_wait&) = delete;
  settle_wait& operator=(const settle_wait&) = delete;

  [[nodiscard]] bool await_ready() const noexcept { return settled_; }
  void await_suspend(std::coroutine_handle<> h) noexcept;
  void await_resume() noexcept;

 private:
  friend class class_host;
  std::shared_ptr<class_host> host_;
  std::uint64_t id_ = 0;
  std::uint64_t actor_ = 0;  // the handle of the actor whose event this is
  std::coroutine_handle<> waiting_;
  cairn::actor* owner_ = nullptr;
  bool settled_ = false;
  bool ok_ = false;
  v8::Global<v8::Value> value_;
  std::string failure_;  // the host failed the event (a limit, a reset)
  std::chrono::nanoseconds cpu_{0};  // of the slices run for it
  std::shared_ptr<void> deadline_;  // the wall-limit timer, while armed
};

/// What an operation the JS started (a call to another actor) came back with.
struct op_outcome {
  enum class kind { cloned, json, response, fetched, error } what = kind::error;
  std::string bytes;          // cloned: the result; error: the error by structured clone, if any
  boost::json::value json;
  http::response response;
  sandbox::outbound_response fetched;  // a fetch to the network
  std::string message;        // error: for an error that did not come from JS
  bool type_error = false;    // error: a TypeError (as fetch's failures are)
};

/// The isolate, as a base so that it outlives the guest_scope's handles.
struct isolate_holder {
  explicit isolate_holder(sandbox::detail::isolate_key key) : isolate_(std::move(key)) {}
  sandbox::detail::tenant_isolate isolate_;
};

class class_host final : private isolate_holder,
                         public sandbox::detail::guest_scope,
                         public std::enable_shared_from_this<class_host> {
 public:
  class_host(registry_state& reg, class_entry& cls, unsigned shard);
  ~class_host() override;

  [[nodiscard]] bool wasm_granted() const noexcept override { return false; }
  [[nodiscard]] std::size_t console_bytes() const noexcept override { return 16u << 10; }
  void append_console(std::string_view level, std::string text) override;

  [[nodiscard]] registry_state& registry() noexcept { return reg_; }
  [[nodiscard]] class_entry& entry() noexcept { return cls_; }
  [[nodiscard]] v8::Isolate* iso() const noexcept { return iso_.get(); }

  /// Makes the JS object of `a` (runs the constructor; `name` is its
  /// ctx.id.name); throws js_error. True if the constructor called
  /// blockConcurrencyWhile(): `blocks` then settles when those calls do, and
  /// the event that made the object awaits it before it starts.
  bool construct(js_actor& a, std::uint64_t handle, const std::optional<std::string>& name, settle_wait& blocks);
  /// Gives the object of `handle` its name (ctx.id.name) when it was made
  /// without one.
  void name(std::uint64_t handle, const std::string& name);
  void destroy(std::uint64_t handle) noexcept;
  [[nodiscard]] js_actor* find(std::uint64_t handle) noexcept;
  [[nodiscard]] v8::Local<v8::Object> object_of(std::uint64_t handle);
  /// The JS object of socket `id` in actor `handle` (one per socket per instance).
  v8::MaybeLocal<v8::Value> socket_object(v8::Local<v8::Context> ctx, std::uint64_t handle, std::uint64_t id);

  using event_body = std::function<v8::MaybeLocal<v8::Value>(v8::Local<v8::Context>, v8::Local<v8::Object> self)>;
  /// Starts an event of `a`: `body` returns the handler's result (a value or
  /// a promise), which `w` settles with.
  void start_event(js_actor& a, settle_wait& w, const event_body& body);

  /// A Worker's event: its default export's fetch(request, env).
  void start_worker_fetch(settle_wait& w, const sandbox::outbound_request& req);
  [[nodiscard]] bool is_worker() const noexcept { return cls_.ns == nullptr; }
  /// The isolate passed its heap limit: the registry makes a new host, each
  /// actor rebuilds its object there at its next event, and this one goes
  /// with the last actor that still refers to it.
  [[nodiscard]] bool retired() const noexcept { return retired_; }

  /// The settled result; each throws js_error if the promise was rejected or
  /// the host failed the event.
  boost::json::value take_json(settle_wait& w);
  std::string take_cloned(settle_wait& w);
  http::response take_response(settle_wait& w);
  void take_void(settle_wait& w);

  // ---- for natives (inside a slice) ----
  /// The actor of `handle`, or a thrown JS error saying it was reset.
  js_actor* actor_arg(v8::Local<v8::Value> handle);
  /// The actor whose slice is running, or a thrown JS error if none is
  /// (nullptr without an error in a Worker, which has no actor).
  js_actor* current(bool& ok);
  /// Starts `op` once the running slice has ended, as `a`; its outcome
  /// settles the returned promise.
  v8::Local<v8::Promise> begin_op(v8::Local<v8::Context> ctx, js_actor* a, std::function<task<op_outcome>()> op);
  /// The actor's object can no longer be trusted: rebuilt at its next event.
  void reset_later(std::uint64_t handle);
  /// ctx.abort(): ends the running slice (no JS can catch that), undoes its
  /// writes, fails the events of `handle` with `why` and resets the actor.
  void abort(std::uint64_t handle, std::string why);
  /// Writes of `a` happened in this slice.
  void touched(js_actor& a);
  /// The global fetch, under the class's fetch policy (none by default).
  v8::MaybeLocal<v8::Promise> fetch_outside_worker(v8::Local<v8::Context> ctx,
                                                   sandbox::outbound_request req) override;

  void complete_op(std::uint64_t op, op_outcome out);
  void unwatch(settle_wait& w) noexcept;
  /// Resumes what settled (outside a slice): after destroy() on a host that
  /// will run no more slices.
  void settle_now();

 private:
  struct entered;
  struct pending_op {
    std::uint64_t actor = 0;
    std::uint64_t event = 0;  // the wait of the event that started it: its resolution's CPU is that event's
    v8::Global<v8::Promise::Resolver> resolver;
  };
  struct slot {
    js_actor* native = nullptr;
    v8::Global<v8::Object> object;
  };

  /// Runs `body` as actor `handle` (0: no actor) in the context.
  void slice(std::uint64_t handle, const std::function<void(v8::Local<v8::Context>)>& body);
  void load(v8::Local<v8::Context> ctx);
  void watch(v8::Local<v8::Context> ctx, v8::Local<v8::Promise> p, settle_wait& w);
  v8::Global<v8::Function> watch_;      // the glue's watch(promise, id)
 public:
  /// What the glue's watch() reports: wait `key` (negative: rejected) settled with `value`.
  void settled(double key, v8::Local<v8::Value> value);

 private:
  void fail_waits_of(std::uint64_t handle, const std::string& why);
  /// Registers `w` for actor `handle` and arms its wall limit.
  void begin_wait(settle_wait& w, std::uint64_t handle);
  void expire(std::uint64_t wait_id);
  /// Adds a slice's CPU time to event `wait_id`; past js_limits::cpu_per_event
  /// the event fails and its actor is reset.
  void charge(std::uint64_t wait_id, std::chrono::nanoseconds used);
  /// The next slice runs for event `wait_id` (if it is an outer one).
  void charge_next_slice_to(std::uint64_t wait_id) noexcept;
  void after_slice();
  [[noreturn]] void throw_rejection(settle_wait& w, v8::Local<v8::Context> ctx);

  registry_state& reg_;
  class_entry& cls_;
  unsigned shard_;
  v8::Global<v8::Context> ctx_;
  v8::Global<v8::Value> class_;        // the exported class, or a Worker's default export
  v8::Global<v8::Object> glue_;        // __cairn_install's helpers
  v8::Global<v8::Object> env_;
  std::string load_error_;             // set if the module failed to load
  std::string load_stack_;
  std::unordered_map<std::uint64_t, slot> actors_;
  std::unordered_map<std::uint64_t, settle_wait*> waits_;
  std::uint64_t next_wait_ = 1;
  std::deque<std::uint64_t> ready_;    // waits settled, to resume after the slice
  std::unordered_map<std::uint64_t, pending_op> ops_;
  std::uint64_t next_op_ = 1;
  std::deque<std::pair<std::uint64_t, std::function<task<op_outcome>()>>> to_start_;
  std::vector<js_actor*> touched_;
  std::uint64_t slice_seq_ = 0;
  std::uint64_t current_ = 0;  // the handle of the actor whose slice runs
  std::uint64_t charge_to_ = 0;  // the wait of the event the running outer slice is for (CPU per event)
  bool retired_ = false;
  std::optional<std::pair<std::uint64_t, std::string>> aborted_;  // by ctx.abort() in the running slice
  // Upgrade responses of other actors that a fetch through a stub returned,
  // until this context's own fetch handler hands them on.
  std::unordered_map<std::uint64_t, http::response> upgrades_;
  std::uint64_t next_upgrade_ = 1;
};

}  // namespace cairn::js::detail
