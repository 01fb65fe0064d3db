#include <tuple>

#include "class_host.hpp"

#include <cstdio>

#include <boost/asio/steady_timer.hpp>

#include <boost/json/serialize.hpp>

#include <cairn/actor.hpp>
#include <cairn/detail/shard.hpp>
#include <cairn/spawn.hpp>

#include "js_natives.hpp"
#include "sandbox/engine.hpp"
#include "sandbox/fetch_grant.hpp"
#include "sandbox/guest_error.hpp"
#include "sandbox/natives.hpp"
#include "sandbox/values.hpp"
#include "sandbox/watchdog.hpp"

namespace cairn::js::detail {
namespace json = boost::json;
namespace sd = cairn::sandbox::detail;
using sd::v8_string;

extern "C" const char cairn_js_glue[];
extern "C" const unsigned long cairn_js_glue_size;

namespace {

constexpr const char* glue_module = "cloudflare:workers";
constexpr std::size_t max_result_bytes = 32u << 20;

// JS runs in one slice at a time per thread (the watchdog has one slot per shard).
thread_local int slice_depth = 0;

task<void> run_op(std::weak_ptr<class_host> host, std::uint64_t id, std::function<task<op_outcome>()> op) {
  op_outcome out;
  try {
    out = co_await op();
  } catch (const js_error& e) {
    out.what = op_outcome::kind::error;
    out.bytes = e.serialized();
    out.message = e.what();
  } catch (const std::exception& e) {
    out.what = op_outcome::kind::error;
    out.message = e.what();
  }
  if (auto h = host.lock()) h->complete_op(id, std::move(out));
}

}  // namespace

sandbox::outbound_request outbound_of(http::request& request) {
  sandbox::outbound_request req;
  req.method = std::string(request.method_string());
  std::string host = "localhost";
  for (const auto& f : request) {
    if (f.name() == http::field::host) host = std::string(f.value());
    req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  const std::string target(request.target());
  req.url = target.starts_with("http://") || target.starts_with("https://") ? target : "http://" + host + target;
  req.body = std::move(request.body());
  return req;
}

// ---- settle_wait -------------------------------------------------------------------

settle_wait::settle_wait(class_host& host) : host_(host.shared_from_this()) {}

settle_wait::~settle_wait() { host_->unwatch(*this); }

void settle_wait::await_suspend(std::coroutine_handle<> h) noexcept {
  waiting_ = h;
  owner_ = cairn::detail::suspend_point();
}

void settle_wait::await_resume() noexcept { cairn::detail::current_actor = owner_; }

// ---- entering the context --------------------------------------------------------------

struct class_host::entered {
  explicit entered(class_host& h)
      : iso_scope(h.iso()), handles(h.iso()), ctx(h.ctx_.Get(h.iso())), ctx_scope(ctx) {}
  v8::Isolate::Scope iso_scope;
  v8::HandleScope handles;
  v8::Local<v8::Context> ctx;
  v8::Context::Scope ctx_scope;
};

class_host::class_host(registry_state& reg, class_entry& cls, unsigned shard)
    : isolate_holder(sd::isolate_key{"js:" + cls.name, cls.cls.limits.heap_bytes, cls.cls.limits.array_buffer_bytes}),
      guest_scope(isolate_),
      reg_(reg),
      cls_(cls),
      shard_(shard) {
  v8::Isolate* i = iso();
  v8::Isolate::Scope is(i);
  v8::HandleScope hs(i);
  auto ctx = new_context();
  ctx_.Reset(i, ctx);
  v8::Context::Scope cs(ctx);
  sd::natives::install(*this, ctx);
  slice(0, [&](v8::Local<v8::Context> c) { load(c); });
}

class_host::~class_host() {
  v8::Isolate::Scope is(iso());
  for (auto& [h, s] : actors_) s.object.Reset();
  for (auto& [id, op] : ops_) op.resolver.Reset();
  class_.Reset();
  watch_.Reset();
  glue_.Reset();
  env_.Reset();
  release();
  ctx_.Reset();
}

void class_host::append_console(std::string_view level, std::string text) {
  const bool plain = level == "log" || level == "info" || level == "debug";
  std::fprintf(stderr, "[%s]%s%s %s\n", cls_.name.c_str(), plain ? "" : " ", plain ? "" : std::string(level).c_str(),
               text.c_str());
}

// The module graph with "cloudflare:workers" evaluated first (its natives
// installed before any of the class's code runs), then the main module.
void class_host::load(v8::Local<v8::Context> ctx) {
  v8::Isolate* i = iso();
  v8::TryCatch tc(i);
  auto fail = [&](std::string why) {
    if (tc.HasCaught() && !tc.HasTerminated()) {
      const sd::thrown t = sd::describe_thrown(ctx, tc.Exception());
      why += t.message;
      load_stack_ = t.stack;
    }
    load_error_ = "the JS class " + cls_.name + " did not load: " + why;
  };
  std::map<std::string, std::string> sources = cls_.cls.modules;
  sources[glue_module] = std::string(cairn_js_glue, cairn_js_glue_size);
  try {
    compile_modules(ctx, sources);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  v8::Local<v8::Value> done;
  if (!evaluate(ctx, glue_module).ToLocal(&done)) return fail("");
  auto glue_ns = module(glue_module).ToLocalChecked()->GetModuleNamespace().As<v8::Object>();
  v8::Local<v8::Value> install, helpers;
  v8::Local<v8::Value> natives = make_natives(*this, ctx);
  if (!glue_ns->Get(ctx, v8_string(i, "__cairn_install")).ToLocal(&install) || !install->IsFunction() ||
      !install.As<v8::Function>()->Call(ctx, v8::Undefined(i), 1, &natives).ToLocal(&helpers) || !helpers->IsObject())
    return fail("the glue did not install: ");
  glue_.Reset(i, helpers.As<v8::Object>());
  v8::Local<v8::Value> watch;
  if (!helpers.As<v8::Object>()->Get(ctx, v8_string(i, "watch")).ToLocal(&watch) || !watch->IsFunction())
    return fail("the glue has no watch()");
  watch_.Reset(i, watch.As<v8::Function>());
  if (cls_.cls.modules.count(cls_.cls.main) == 0) return fail("there is no module '" + cls_.cls.main + "'");
  v8::Local<v8::Value> evaluated;
  if (!evaluate(ctx, cls_.cls.main).ToLocal(&evaluated)) return fail("");
  i->PerformMicrotaskCheckpoint();
  if (evaluated->IsPromise() && evaluated.As<v8::Promise>()->State() == v8::Promise::kRejected) {
    tc.Reset();
    const sd::thrown t = sd::describe_thrown(ctx, evaluated.As<v8::Promise>()->Result());
    load_stack_ = t.stack;
    return fail(t.message);
  }
  auto ns = module(cls_.cls.main).ToLocalChecked()->GetModuleNamespace().As<v8::Object>();
  v8::Local<v8::Value> c, f;
  if (is_worker()) {
    if (!ns->Get(ctx, v8_string(i, "default")).ToLocal(&c) || !c->IsObject() ||
        !c.As<v8::Object>()->Get(ctx, v8_string(i, "fetch")).ToLocal(&f) || !f->IsFunction())
      return fail("the module '" + cls_.cls.main + "' has no default export with a fetch() handler");
  } else if (!ns->Get(ctx, v8_string(i, cls_.cls.class_name)).ToLocal(&c) || !c->IsFunction()) {
    return fail("the module '" + cls_.cls.main + "' exports no class '" + cls_.cls.class_name + "'");
  }
  class_.Reset(i, c);
  env_.Reset(i, make_env(*this, ctx, glue_.Get(i)));
}

// ---- actors ---------------------------------------------------------------------------

bool class_host::construct(js_actor& a, std::uint64_t handle, const std::optional<std::string>& name,
                           settle_wait& blocks) {
  if (!load_error_.empty()) throw js_error(load_error_, load_stack_);
  std::string error, stack;
  bool blocked = false;
  actors_[handle].native = &a;
  slice(handle, [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* i = iso();
    v8::TryCatch tc(i);
    auto glue = glue_.Get(i);
    v8::Local<v8::Value> make_state, state, object, blocking, pending;
    v8::Local<v8::Value> id_name = v8::Undefined(i);
    if (name) id_name = v8_string(i, *name);
    v8::Local<v8::Value> sargs[] = {v8::Number::New(i, static_cast<double>(handle)),
                                    v8_string(i, a.id().to_string()), id_name};
    if (glue->Get(ctx, v8_string(i, "state")).ToLocal(&make_state) &&
        make_state.As<v8::Function>()->Call(ctx, v8::Undefined(i), 3, sargs).ToLocal(&state)) {
      v8::Local<v8::Value> cargs[] = {state, env_.Get(i)};
      if (class_.Get(i).As<v8::Function>()->NewInstance(ctx, 2, cargs).ToLocal(&object) && object->IsObject()) {
        actors_[handle].object.Reset(i, object.As<v8::Object>());
        if (glue->Get(ctx, v8_string(i, "blocking")).ToLocal(&blocking) &&
            blocking.As<v8::Function>()->Call(ctx, v8::Undefined(i), 1, sargs).ToLocal(&pending) &&
            pending->IsPromise()) {
          begin_wait(blocks, handle);
          watch(ctx, pending.As<v8::Promise>(), blocks);
          blocked = true;
        }
        return;
      }
    }
    if (tc.HasTerminated()) return;
    const sd::thrown t = sd::describe_thrown(ctx, tc.Exception());
    error = "the constructor of " + cls_.name + " threw: " + t.message;
    stack = t.stack;
  });
  if (actors_[handle].object.IsEmpty()) {
    destroy(handle);  // the glue forgets what the failed constructor left
    throw js_error(error.empty() ? "the constructor of " + cls_.name + " did not finish" : error, stack);
  }
  return blocked;
}

void class_host::name(std::uint64_t handle, const std::string& name) {
  if (glue_.IsEmpty() || !actors_.count(handle)) return;
  entered e(*this);
  v8::TryCatch tc(iso());
  v8::Local<v8::Value> named;
  v8::Local<v8::Value> args[] = {v8::Number::New(iso(), static_cast<double>(handle)), v8_string(iso(), name)};
  if (glue_.Get(iso())->Get(e.ctx, v8_string(iso(), "named")).ToLocal(&named) && named->IsFunction())
    std::ignore = named.As<v8::Function>()->Call(e.ctx, v8::Undefined(iso()), 2, args);
}

void class_host::destroy(std::uint64_t handle) noexcept {
  fail_waits_of(handle, "the actor was reset while this event waited");  // resumed by the next slice here
  auto it = actors_.find(handle);
  if (it == actors_.end()) return;
  it->second.object.Reset();
  actors_.erase(it);
  if (glue_.IsEmpty()) return;
  entered e(*this);
  v8::TryCatch tc(iso());
  v8::Local<v8::Value> forget;
  v8::Local<v8::Value> arg = v8::Number::New(iso(), static_cast<double>(handle));
  if (glue_.Get(iso())->Get(e.ctx, v8_string(iso(), "forget")).ToLocal(&forget) && forget->IsFunction())
    std::ignore = forget.As<v8::Function>()->Call(e.ctx, v8::Undefined(iso()), 1, &arg);
}

v8::MaybeLocal<v8::Value> class_host::socket_object(v8::Local<v8::Context> ctx, std::uint64_t handle, std::uint64_t id) {
  v8::Local<v8::Value> make;
  if (!glue_.Get(iso())->Get(ctx, v8_string(iso(), "socket")).ToLocal(&make)) return {};
  v8::Local<v8::Value> args[] = {v8::Number::New(iso(), static_cast<double>(handle)),
                                 v8::Number::New(iso(), static_cast<double>(id))};
  return make.As<v8::Function>()->Call(ctx, v8::Undefined(iso()), 2, args);
}

js_actor* class_host::find(std::uint64_t handle) noexcept {
  auto it = actors_.find(handle);
  return it == actors_.end() ? nullptr : it->second.native;
}

v8::Local<v8::Object> class_host::object_of(std::uint64_t handle) { return actors_.at(handle).object.Get(iso()); }

js_actor* class_host::actor_arg(v8::Local<v8::Value> handle) {
  js_actor* a = handle->IsNumber() ? find(static_cast<std::uint64_t>(handle.As<v8::Number>()->Value())) : nullptr;
  if (!a)
    iso()->ThrowException(v8::Exception::Error(v8_string(
        iso(), "this Durable Object instance is gone (it was reset or hibernated); only the current one may use ctx")));
  return a;
}

js_actor* class_host::current(bool& ok) {
  js_actor* a = current_ ? find(current_) : nullptr;
  ok = a != nullptr || (is_worker() && slice_depth > 0);
  if (!ok)
    iso()->ThrowException(v8::Exception::Error(
        v8_string(iso(), "other actors can be called only from an event's code (not from module scope)")));
  return a;
}

void class_host::touched(js_actor& a) {
  for (js_actor* t : touched_)
    if (t == &a) return;
  touched_.push_back(&a);
}

// ---- slices --------------------------------------------------------------------------

void class_host::slice(std::uint64_t handle, const std::function<void(v8::Local<v8::Context>)>& body) {
  entered e(*this);
  v8::Isolate* i = iso();
  js_actor* a = handle ? find(handle) : nullptr;
  cairn::actor* saved = cairn::detail::current_actor;
  const std::uint64_t saved_handle = current_;
  cairn::detail::current_actor = a;
  current_ = a ? handle : 0;
  const bool outer = slice_depth++ == 0;
  auto& dog = *reg_.dog;
  if (outer) {
    if (!reg_.dog_registered[shard_]) {
      dog.register_thread(shard_);
      reg_.dog_registered[shard_] = 1;
    }
    dog.begin_slice(shard_, i, ++slice_seq_, cls_.cls.limits.cpu_per_slice);
  }
  {
    v8::TryCatch tc(i);
    body(e.ctx);
    if (outer && !tc.HasTerminated() && !i->IsExecutionTerminating()) i->PerformMicrotaskCheckpoint();
  }
  --slice_depth;
  if (!outer) {
    cairn::detail::current_actor = saved;
    current_ = saved_handle;
    return;
  }
  std::chrono::nanoseconds used{0};
  const sd::stop_reason why = dog.end_slice(shard_, used);
  const bool heap = isolate_.heap_exceeded();
  bool stopped_by_abort = false;
  if (heap && !retired_) {
    // Every object of the class on this shard lived in that heap: all of its
    // actors are reset, and new ones get a new isolate.
    i->CancelTerminateExecution();
    retired_ = true;
    const std::string what = "the JS class " + cls_.name + " passed its heap limit of " +
                             std::to_string(cls_.cls.limits.heap_bytes >> 20) +
                             " MiB on this shard; its isolate is replaced and its objects rebuilt";
    // Each actor rebuilds its object in the new isolate at its next event
    // (js_actor::prepare); the events in flight fail.
    for (auto& [h, slot] : actors_) fail_waits_of(h, what);
    if (!handle) fail_waits_of(0, what);
  } else if (aborted_) {
    // ctx.abort(): the slice ended where it called it.
    i->CancelTerminateExecution();
    auto [h, what] = std::move(*aborted_);
    aborted_.reset();
    fail_waits_of(h, what);
    reset_later(h);
    stopped_by_abort = true;
  } else if (why != sd::stop_reason::none || i->IsExecutionTerminating()) {
    i->CancelTerminateExecution();
    const std::string what = "the event used more than " + std::to_string(cls_.cls.limits.cpu_per_slice.count()) +
                             " ms of CPU time without yielding; the actor was reset";
    if (handle) {
      fail_waits_of(handle, what);
      reset_later(handle);
    }
  }
  charge(std::exchange(charge_to_, 0), used);
  // A stopped slice's writes are undone; a finished one's end their segment.
  // A storage.transaction() still open cannot span the segments: undone too.
  const bool stopped = why != sd::stop_reason::none || heap || stopped_by_abort;
  for (js_actor* t : touched_) {
    t->abandon_transactions();
    if (stopped)
      cairn::detail::abort_segment(t);
    else
      cairn::detail::end_segment(t);
  }
  touched_.clear();
  cairn::detail::current_actor = saved;
  current_ = saved_handle;
  after_slice();
}

void class_host::fail_waits_of(std::uint64_t handle, const std::string& why) {
  std::vector<settle_wait*> hit;
  for (auto& [id, w] : waits_)
    if (w->actor_ == handle) hit.push_back(w);
  for (settle_wait* w : hit) {
    if (w->settled_) continue;
    w->settled_ = true;
    w->failure_ = why;
    ready_.push_back(w->id_);
  }
}

void class_host::settle_now() {
  if (slice_depth == 0) after_slice();
}

namespace {

// Runs as the actor, so http::fetch holds the request until the writes made
// before it are durable (and drops it if their commit fails).
task<op_outcome> fetch_op(sandbox::fetch_policy policy, sandbox::outbound_request req, unsigned max_requests,
                          std::size_t max_body) {
  op_outcome out;
  out.type_error = true;
  auto answer = co_await sd::perform_fetch(std::move(policy), std::move(req), max_requests, max_body);
  if (!answer.is_response) {
    out.message = answer.error;
    co_return out;
  }
  out.what = op_outcome::kind::fetched;
  out.fetched = std::move(answer.response);
  co_return out;
}

}  // namespace

v8::MaybeLocal<v8::Promise> class_host::fetch_outside_worker(v8::Local<v8::Context> ctx,
                                                             sandbox::outbound_request req) {
  v8::Isolate* i = ctx->GetIsolate();
  const auto& f = cls_.cls.fetch;
  if (f.policy.mode() == sandbox::fetch_policy::kind::none) {
    i->ThrowException(v8::Exception::TypeError(v8_string(
        i, "fetch is not granted to " + cls_.name + " (grant URL prefixes with js_class::fetch, \"fetch\" in the config)")));
    return {};
  }
  bool ok = false;
  js_actor* a = current(ok);
  if (!ok) return {};
  return begin_op(ctx, a, [policy = f.policy, req = std::move(req), n = f.max_requests, b = f.max_body_bytes] {
    return fetch_op(policy, req, n, b);
  });
}

void class_host::abort(std::uint64_t handle, std::string why) {
  if (aborted_) return;  // the first abort() of the slice wins
  aborted_.emplace(handle, std::move(why));
  iso()->TerminateExecution();
}

void class_host::reset_later(std::uint64_t handle) {
  if (js_actor* a = find(handle)) a->mark_stale();
}

// Outside every slice: the coroutines whose promises settled, then the
// operations the slice started.
void class_host::after_slice() {
  auto self = weak_from_this().lock();  // what resumes may drop the last actor holding us (none while constructing)
  while (!to_start_.empty() || !ready_.empty()) {
    if (!ready_.empty()) {
      const std::uint64_t id = ready_.front();
      ready_.pop_front();
      auto it = waits_.find(id);
      if (it == waits_.end()) continue;
      settle_wait* w = it->second;
      waits_.erase(it);
      w->id_ = 0;
      if (w->waiting_) {
        // The coroutine runs as its actor (await_resume); what follows here does not.
        cairn::actor* outside = cairn::detail::current_actor;
        std::exchange(w->waiting_, nullptr).resume();
        cairn::detail::current_actor = outside;
      }
      continue;
    }
    auto [id, op] = std::move(to_start_.front());
    to_start_.pop_front();
    cairn::actor* saved = cairn::detail::current_actor;
    auto it = ops_.find(id);
    cairn::detail::current_actor = it != ops_.end() ? find(it->second.actor) : nullptr;
    cairn::spawn(run_op(weak_from_this(), id, std::move(op)));
    cairn::detail::current_actor = saved;
  }
}

// ---- events --------------------------------------------------------------------------

void class_host::begin_wait(settle_wait& w, std::uint64_t handle) {
  w.actor_ = handle;
  w.id_ = next_wait_++;
  waits_[w.id_] = &w;
  const auto limit = cls_.cls.limits.wall_per_event;
  if (limit.count() <= 0) return;
  auto timer = std::make_shared<boost::asio::steady_timer>(cairn::detail::shard::current()->io(), limit);
  timer->async_wait([host = weak_from_this(), id = w.id_](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the event settled
    if (auto h = host.lock()) h->expire(id);
  });
  w.deadline_ = std::move(timer);
}

void class_host::charge_next_slice_to(std::uint64_t wait_id) noexcept {
  if (slice_depth == 0) charge_to_ = wait_id;
}

void class_host::charge(std::uint64_t wait_id, std::chrono::nanoseconds used) {
  const auto limit = cls_.cls.limits.cpu_per_event;
  if (wait_id == 0 || limit.count() <= 0) return;
  auto it = waits_.find(wait_id);
  if (it == waits_.end() || it->second->settled_) return;
  settle_wait* w = it->second;
  w->cpu_ += used;
  if (w->cpu_ <= limit) return;
  w->settled_ = true;
  w->failure_ = "the event used more than " + std::to_string(limit.count()) + " ms of CPU time in all" +
                (w->actor_ ? "; the actor was reset" : "");
  ready_.push_back(wait_id);
  if (w->actor_) reset_later(w->actor_);
}

void class_host::expire(std::uint64_t wait_id) {
  auto it = waits_.find(wait_id);
  if (it == waits_.end() || it->second->settled_) return;
  settle_wait* w = it->second;
  w->settled_ = true;
  w->failure_ = "the event did not finish within " + std::to_string(cls_.cls.limits.wall_per_event.count()) +
                " ms" + (w->actor_ ? "; the actor was reset" : "");
  ready_.push_back(wait_id);
  if (w->actor_) reset_later(w->actor_);
  after_slice();
}

void class_host::start_event(js_actor& a, settle_wait& w, const event_body& body) {
  begin_wait(w, a.handle());
  charge_next_slice_to(w.id_);
  if (retired_) {  // cannot happen: js_actor::prepare moves to a new host first
    w.settled_ = true;
    w.failure_ = "the JS class " + cls_.name + " passed its heap limit on this shard";
    return after_slice();
  }
  slice(a.handle(), [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* i = iso();
    v8::TryCatch tc(i);
    auto object = object_of(a.handle());
    v8::Local<v8::Value> v;
    const bool ok = body(ctx, object).ToLocal(&v);
    if (!ok && tc.HasTerminated()) return;
    auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
    if (ok)
      std::ignore = resolver->Resolve(ctx, v);
    else
      std::ignore = resolver->Reject(ctx, tc.HasCaught() ? tc.Exception() : v8::Exception::Error(v8_string(i, "failed")));
    watch(ctx, resolver->GetPromise(), w);
  });
}

void class_host::start_worker_fetch(settle_wait& w, const sandbox::outbound_request& req) {
  begin_wait(w, 0);
  charge_next_slice_to(w.id_);
  slice(0, [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* i = iso();
    v8::TryCatch tc(i);
    if (class_.IsEmpty()) return fail_waits_of(0, load_error_);
    auto def = class_.Get(i).As<v8::Object>();
    v8::Local<v8::Value> f;
    v8::Local<v8::Promise> p;
    auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
    if (def->Get(ctx, v8_string(i, "fetch")).ToLocal(&f) && f->IsFunction() &&
        sd::natives::call_fetch_handler(ctx, def, f.As<v8::Function>(), env_.Get(i), req).ToLocal(&p)) {
      std::ignore = resolver->Resolve(ctx, p);
    } else {
      if (tc.HasTerminated()) return;
      std::ignore = resolver->Reject(ctx, tc.HasCaught() ? tc.Exception() : v8::Exception::Error(v8_string(i, "failed")));
    }
    watch(ctx, resolver->GetPromise(), w);
  });
}

void class_host::watch(v8::Local<v8::Context> ctx, v8::Local<v8::Promise> p, settle_wait& w) {
  v8::Isolate* i = iso();
  v8::Local<v8::Value> args[] = {p, v8::Number::New(i, static_cast<double>(w.id_))};
  std::ignore = watch_.Get(i)->Call(ctx, v8::Undefined(i), 2, args);
}

void class_host::settled(double key, v8::Local<v8::Value> value) {
  const auto id = static_cast<std::uint64_t>(key < 0 ? -key : key);
  auto it = waits_.find(id);
  if (it == waits_.end() || it->second->settled_) return;
  settle_wait* w = it->second;
  w->settled_ = true;
  w->ok_ = key > 0;
  w->value_.Reset(iso(), value);
  ready_.push_back(id);
}

void class_host::unwatch(settle_wait& w) noexcept {
  if (w.deadline_) {
    static_cast<boost::asio::steady_timer*>(w.deadline_.get())->cancel();
    w.deadline_.reset();
  }
  if (w.id_ == 0) return;
  auto it = waits_.find(w.id_);
  if (it != waits_.end() && it->second == &w) waits_.erase(it);
  w.value_.Reset();
  w.id_ = 0;
}

void class_host::throw_rejection(settle_wait& w, v8::Local<v8::Context> ctx) {
  if (!w.failure_.empty()) throw js_error(w.failure_, "");
  auto v = w.value_.Get(iso());
  const sd::thrown t = sd::describe_thrown(ctx, v);
  std::string bytes;
  {
    v8::TryCatch tc(iso());
    if (!sd::clone_out(ctx, v, bytes)) bytes.clear();
  }
  throw js_error(t.message, t.stack, std::move(bytes));
}

json::value class_host::take_json(settle_wait& w) {
  entered e(*this);
  if (!w.ok_) throw_rejection(w, e.ctx);
  auto v = w.value_.Get(iso());
  if (v->IsUndefined()) return nullptr;
  sd::copy_failure why;
  auto out = sd::from_guest(e.ctx, v, max_result_bytes, why);
  if (!out) throw js_error("the result cannot cross to C++ as JSON: " + why.why, "");
  return std::move(*out);
}

std::string class_host::take_cloned(settle_wait& w) {
  entered e(*this);
  if (!w.ok_) throw_rejection(w, e.ctx);
  v8::TryCatch tc(iso());
  std::string bytes;
  if (!sd::clone_out(e.ctx, w.value_.Get(iso()), bytes)) {
    const sd::thrown t = sd::describe_thrown(e.ctx, tc.Exception());
    throw js_error("the result cannot be cloned: " + t.message, "");
  }
  return bytes;
}

http::response class_host::take_response(settle_wait& w) {
  entered e(*this);
  if (!w.ok_) throw_rejection(w, e.ctx);
  auto value = w.value_.Get(iso());
  if (value->IsObject()) {  // a socket another actor accepted, handed on
    v8::Local<v8::Value> ws, up, upgrade_of;
    if (sd::data_property(e.ctx, value.As<v8::Object>(), "webSocket").ToLocal(&ws) && ws->IsObject() &&
        glue_.Get(iso())->Get(e.ctx, v8_string(iso(), "upgradeOf")).ToLocal(&upgrade_of) &&
        upgrade_of.As<v8::Function>()->Call(e.ctx, v8::Undefined(iso()), 1, &ws).ToLocal(&up) && up->IsNumber()) {
      auto it = upgrades_.find(static_cast<std::uint64_t>(up.As<v8::Number>()->Value()));
      if (it != upgrades_.end()) {
        http::response r = std::move(it->second);
        upgrades_.erase(it);
        return r;
      }
    }
  }
  sandbox::outbound_response out;
  std::string why;
  if (!sd::natives::read_response(e.ctx, value, max_result_bytes, out, why))
    throw js_error("the fetch handler's response: " + why, "");
  http::response r(static_cast<http::status>(out.status), 11);
  for (auto& [k, v] : out.headers) r.insert(k, v);
  r.body() = std::move(out.body);
  r.prepare_payload();
  return r;
}

void class_host::take_void(settle_wait& w) {
  entered e(*this);
  if (!w.ok_) throw_rejection(w, e.ctx);
}

// ---- operations the JS started ---------------------------------------------------------------

v8::Local<v8::Promise> class_host::begin_op(v8::Local<v8::Context> ctx, js_actor* a,
                                            std::function<task<op_outcome>()> op) {
  auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
  const std::uint64_t id = next_op_++;
  auto& p = ops_[id];
  p.actor = a ? a->handle() : 0;
  p.event = charge_to_;
  p.resolver.Reset(iso(), resolver);
  to_start_.emplace_back(id, std::move(op));
  return resolver->GetPromise();
}

void class_host::complete_op(std::uint64_t id, op_outcome out) {
  auto it = ops_.find(id);
  if (it == ops_.end()) return;
  const std::uint64_t owner = find(it->second.actor) ? it->second.actor : 0;
  v8::Global<v8::Promise::Resolver> held = std::move(it->second.resolver);
  charge_next_slice_to(it->second.event);
  ops_.erase(it);
  slice(owner, [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* i = iso();
    auto resolver = held.Get(i);
    v8::TryCatch tc(i);
    v8::Local<v8::Value> v;
    bool ok = true;
    switch (out.what) {
      case op_outcome::kind::cloned:
        ok = sd::clone_in(ctx, out.bytes).ToLocal(&v);
        break;
      case op_outcome::kind::json:
        ok = v8::JSON::Parse(ctx, v8_string(i, json::serialize(out.json))).ToLocal(&v);
        break;
      case op_outcome::kind::response: {
        sandbox::outbound_response r;
        r.status = static_cast<unsigned>(out.response.result_int());
        for (const auto& f : out.response) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        r.body = std::move(out.response.body());
        ok = sd::natives::make_response_init(ctx, r).ToLocal(&v);
        if (ok && out.response.websocket_upgrade()) {
          const std::uint64_t up = next_upgrade_++;
          upgrades_.emplace(up, std::move(out.response));
          std::ignore = v.As<v8::Object>()->Set(ctx, v8_string(i, "webSocketUpgrade"),
                                                v8::Number::New(i, static_cast<double>(up)));
        }
        break;
      }
      case op_outcome::kind::fetched:
        ok = sd::natives::make_response_init(ctx, out.fetched).ToLocal(&v);
        break;
      case op_outcome::kind::error: {
        v8::Local<v8::Value> err;
        if (out.bytes.empty() || !sd::clone_in(ctx, out.bytes).ToLocal(&err))
          err = out.type_error ? v8::Exception::TypeError(v8_string(i, out.message))
                               : v8::Exception::Error(v8_string(i, out.message));
        std::ignore = resolver->Reject(ctx, err);
        return;
      }
    }
    if (ok)
      std::ignore = resolver->Resolve(ctx, v);
    else if (!tc.HasTerminated())
      std::ignore = resolver->Reject(ctx, tc.Exception());
  });
  held.Reset();
}

}  // namespace cairn::js::detail
