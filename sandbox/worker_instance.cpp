#include <tuple>

#include "worker_instance.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "guest_error.hpp"
#include "natives.hpp"
#include "pool_state.hpp"
#include "v8_thread.hpp"
#include "values.hpp"
#include "watchdog.hpp"

namespace cairn::sandbox::detail {
namespace json = boost::json;
using namespace std::chrono;

namespace {

std::string mib(std::size_t bytes) {
  return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

}  // namespace

worker_instance::worker_instance(v8_thread& thread, tenant_isolate& iso, std::uint64_t key, worker_code code)
    : guest_scope(iso), thread_(thread), key_(key), code_(std::move(code)) {
  v8::Isolate* i = iso_.get();
  v8::HandleScope hs(i);
  auto ctx = new_context();
  ctx_.Reset(i, ctx);
  v8::Context::Scope cs(ctx);
  install_globals(ctx);
  env_.Reset(i, make_env(ctx));
}

worker_instance::~worker_instance() {
  for (auto& r : runs_) r.promise.Reset();
  host_calls_.clear();
  release();
  entry_.Reset();
  env_.Reset();
  ctx_.Reset();
}

worker_instance* worker_instance::of(v8::Local<v8::Context> ctx) {
  guest_scope* s = guest_scope::of(ctx);
  return s ? s->worker() : nullptr;
}

run& worker_instance::new_run(run::kind k, hop& done) {
  run& r = runs_.emplace_back();
  r.seq = thread_.next_run_seq();
  r.what = k;
  r.done = &done;
  thread_.arm_deadline(key_, r.seq, code_.limits.wall);
  return r;
}

run* worker_instance::find_run(std::uint64_t seq) {
  for (auto& r : runs_)
    if (r.seq == seq) return &r;
  return nullptr;
}

// ---- slices -----------------------------------------------------------------------

template <class Body>
void worker_instance::slice(run& first, Body&& body) {
  v8::Isolate* iso = iso_.get();
  const std::uint64_t seq = first.seq;
  v8::HandleScope hs(iso);
  auto ctx = context();
  v8::Context::Scope cs(ctx);
  const auto budget = std::max<nanoseconds>(duration_cast<nanoseconds>(code_.limits.cpu) - first.cpu, nanoseconds(1));
  current_ = &first;
  thread_.dog().begin_slice(thread_.index(), iso, seq, budget);
  {
    v8::TryCatch tc(iso);
    body(ctx);
    if (!tc.HasTerminated() && !iso->IsExecutionTerminating()) iso->PerformMicrotaskCheckpoint();
  }
  nanoseconds used{0};
  const stop_reason why = thread_.dog().end_slice(thread_.index(), used);
  current_ = nullptr;
  run* r = find_run(seq);
  if (r) r->cpu += used;
  if (iso_.allocator().take_refusal() && r) {
    r->limited = true;
    r->limit_code = errc::array_buffer_limit;
    r->limit_why = "an ArrayBuffer allocation would pass the isolate's limit of " + mib(code_.limits.array_buffer_bytes);
  }
  if (why != stop_reason::none || iso_.heap_exceeded() || iso->IsExecutionTerminating()) {
    iso->CancelTerminateExecution();
    if (iso_.heap_exceeded()) {
      // Counted before the caller hears of it, so the figure is never behind.
      thread_.pool().isolates_dropped_for_heap.fetch_add(1);
      break_with(seq, errc::heap_limit, "the guest's heap passed " + mib(code_.limits.heap_bytes) + "; its isolate was dropped");
    } else if (why == stop_reason::wall)
      break_with(seq, errc::wall_limit, "the call took longer than " + std::to_string(code_.limits.wall.count()) + " ms");
    else
      break_with(seq, errc::cpu_limit,
                 "the call used more than " + std::to_string(code_.limits.cpu.count()) + " ms of CPU time");
    return;
  }
  settle(ctx);
}

void worker_instance::settle(v8::Local<v8::Context> ctx) {
  v8::Isolate* iso = iso_.get();
  for (auto it = runs_.begin(); it != runs_.end();) {
    run& r = *it++;  // complete() erases r
    if (r.promise.IsEmpty()) continue;
    auto p = r.promise.Get(iso);
    if (p->State() == v8::Promise::kPending) continue;
    complete(r, ctx, p);
  }
  // No timers exist in the sandbox: with no host call outstanding, nothing can
  // ever settle what the remaining runs wait for.
  if (!runs_.empty() && host_calls_.empty() && !broken_) {
    while (!runs_.empty())
      fail(runs_.front(), error(errc::never_settles,
                                "the worker's promise can never settle: it awaits nothing the host is doing"));
  }
}

void worker_instance::complete(run& r, v8::Local<v8::Context> ctx, v8::Local<v8::Promise> p) {
  v8::Isolate* iso = iso_.get();
  v8::TryCatch tc(iso);
  if (p->State() == v8::Promise::kRejected) {
    thrown t = describe_thrown(ctx, p->Result());
    const char* prefix = r.what == run::kind::load ? "while loading the worker: " : "";
    if (r.limited) {
      // The guest's own error usually repeats the refusal; say it once.
      const bool same = t.message.ends_with(r.limit_why);
      return fail(r, error(r.limit_code, same ? r.limit_why : r.limit_why + " (" + t.message + ")", t.stack));
    }
    return fail(r, error(errc::guest_exception, prefix + t.message, t.stack));
  }
  switch (r.what) {
    case run::kind::load: {
      auto main = module(code_.main).ToLocalChecked();
      auto ns = main->GetModuleNamespace().As<v8::Object>();
      v8::Local<v8::Value> entry;
      if (!data_property(ctx, ns, "default").ToLocal(&entry) || entry->IsUndefined())
        return fail(r, error(errc::bad_entry_point, "the main module '" + code_.main + "' has no default export"));
      entry_.Reset(iso, entry);
      r.done->worker_key = key_;
      return finish(r);
    }
    case run::kind::call: {
      copy_failure why;
      auto value = from_guest(ctx, p->Result(), code_.limits.result_bytes, why);
      if (!value)
        return fail(r, error(why.too_large ? errc::result_too_large : errc::not_serializable, "the result: " + why.why));
      r.done->value = std::move(*value);
      return finish(r);
    }
    case run::kind::fetch: {
      outbound_response out;
      std::string why;
      if (!natives::read_response(ctx, p->Result(), code_.limits.result_bytes, out, why))
        return fail(r, error(errc::not_serializable, "the fetch handler's response: " + why));
      r.done->response = std::move(out);
      return finish(r);
    }
  }
}

void worker_instance::fail(run& r, sandbox::error e) {
  e.set_console(std::move(r.console));
  r.done->error = std::make_exception_ptr(std::move(e));
  finish(r);
}

void worker_instance::finish(run& r) {
  hop* done = r.done;
  if (!done->error) done->console = std::move(r.console);
  done->cpu = duration_cast<microseconds>(r.cpu);
  r.promise.Reset();
  runs_.remove_if([&](const run& x) { return &x == &r; });
  done->finish();  // the caller may resume (and free the hop) from here on
}

void worker_instance::break_with(std::uint64_t seq, errc code, const std::string& why) {
  broken_ = true;
  host_calls_.clear();
  if (run* r = find_run(seq)) fail(*r, error(code, why));
  while (!runs_.empty())
    fail(runs_.front(), error(errc::worker_reset, "another call on this worker hit a limit (" + why + ")"));
}

void worker_instance::abandon(errc code, const std::string& why) {
  broken_ = true;
  host_calls_.clear();
  while (!runs_.empty()) fail(runs_.front(), error(code, why));
}

void worker_instance::expire(std::uint64_t seq) {
  if (find_run(seq))
    break_with(seq, errc::wall_limit,
               "the call took longer than " + std::to_string(code_.limits.wall.count()) + " ms");
}

// ---- load ----------------------------------------------------------------------------

void worker_instance::start_load(hop& done) {
  run& r = new_run(run::kind::load, done);
  slice(r, [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* iso = iso_.get();
    v8::TryCatch tc(iso);
    try {
      compile_modules(ctx, code_.modules);
    } catch (error& e) {
      broken_ = true;
      return fail(r, std::move(e));
    }
    auto main = module(code_.main).ToLocalChecked();
    if (!main->InstantiateModule(ctx, &resolve_static).FromMaybe(false)) {
      broken_ = true;
      if (tc.HasTerminated()) return;
      const thrown t = describe_thrown(ctx, tc.Exception());
      return fail(r, error(module_missing() ? errc::module_not_found : errc::guest_exception, t.message, t.stack));
    }
    v8::Local<v8::Value> evaluated;
    if (!main->Evaluate(ctx).ToLocal(&evaluated)) {
      broken_ = true;
      if (tc.HasTerminated()) return;
      const thrown t = describe_thrown(ctx, tc.Exception());
      return fail(r, error(errc::guest_exception, "while loading the worker: " + t.message, t.stack));
    }
    r.promise.Reset(iso, evaluated.As<v8::Promise>());
  });
}

// ---- calls ---------------------------------------------------------------------------

void worker_instance::start_call(hop& done, json::value input) {
  run& r = new_run(run::kind::call, done);
  slice(r, [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* iso = iso_.get();
    auto entry = entry_.Get(iso);
    if (!entry->IsFunction())
      return fail(r, error(errc::bad_entry_point,
                           "the worker's default export is not a function (a Worker-style export takes fetch)"));
    v8::TryCatch tc(iso);
    auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
    v8::Local<v8::Value> args[] = {to_guest(ctx, input), env_.Get(iso)};
    v8::Local<v8::Value> result;
    if (entry.As<v8::Function>()->Call(ctx, v8::Undefined(iso), 2, args).ToLocal(&result)) {
      std::ignore = resolver->Resolve(ctx, result);
    } else {
      if (tc.HasTerminated()) return;
      std::ignore = resolver->Reject(ctx, tc.Exception());
    }
    r.promise.Reset(iso, resolver->GetPromise());
  });
}

void worker_instance::start_fetch(hop& done, outbound_request request) {
  run& r = new_run(run::kind::fetch, done);
  slice(r, [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* iso = iso_.get();
    auto entry = entry_.Get(iso);
    v8::Local<v8::Value> handler;
    if (!entry->IsObject() || !data_property(ctx, entry.As<v8::Object>(), "fetch").ToLocal(&handler) ||
        !handler->IsFunction())
      return fail(r, error(errc::bad_entry_point, "the worker's default export has no fetch method"));
    v8::TryCatch tc(iso);
    v8::Local<v8::Promise> p;
    if (!natives::call_fetch_handler(ctx, entry.As<v8::Object>(), handler.As<v8::Function>(), env_.Get(iso), request)
             .ToLocal(&p)) {
      if (tc.HasTerminated()) return;
      auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
      std::ignore = resolver->Reject(ctx, tc.HasCaught() ? tc.Exception() : v8::Undefined(iso).As<v8::Value>());
      p = resolver->GetPromise();
    }
    r.promise.Reset(iso, p);
  });
}

// ---- host calls ----------------------------------------------------------------------

std::uint64_t worker_instance::begin_host_call(v8::Local<v8::Context> ctx,
                                               v8::Local<v8::Promise::Resolver>& resolver) {
  resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
  const std::uint64_t id = next_host_call_++;
  host_call& c = host_calls_[id];
  c.resolver.Reset(iso_.get(), resolver);
  c.run = current_ ? current_->seq : 0;
  return id;
}

void worker_instance::host_reply(std::uint64_t call, host_answer a) {
  auto it = host_calls_.find(call);
  if (it == host_calls_.end()) return;
  run* r = find_run(it->second.run);
  if (!r) {  // the call that asked is over: nobody waits for the answer
    host_calls_.erase(it);
    return;
  }
  v8::Global<v8::Promise::Resolver> resolver = std::move(it->second.resolver);
  host_calls_.erase(it);
  if (!a.ok && a.code != errc::guest_exception) {
    r->limited = true;
    r->limit_code = a.code;
    r->limit_why = a.error;
  }
  slice(*r, [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* iso = iso_.get();
    auto res = resolver.Get(iso);
    if (!a.ok) {
      std::ignore = res->Reject(ctx, a.code == errc::guest_exception ? v8::Exception::Error(v8_string(iso, a.error))
                                                             : v8::Exception::TypeError(v8_string(iso, a.error)));
    } else if (a.is_response) {
      v8::Local<v8::Value> v;
      if (natives::make_response_init(ctx, a.response).ToLocal(&v)) std::ignore = res->Resolve(ctx, v);
    } else {
      std::ignore = res->Resolve(ctx, to_guest(ctx, a.value));
    }
  });
}

}  // namespace cairn::sandbox::detail
