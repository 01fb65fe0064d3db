#include <tuple>

#include "natives.hpp"
#include "prelude_source.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <boost/json/serialize.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fetch_grant.hpp"
#include "guest_error.hpp"
#include "pool_state.hpp"
#include "v8_thread.hpp"
#include "values.hpp"
#include "worker_instance.hpp"

// The bundled prelude (sandbox/js, built by esbuild), embedded by prelude_blob.cpp.

namespace cairn::sandbox::detail {
namespace json = boost::json;

namespace {

constexpr const char* level_names[] = {"log", "info", "debug", "warn", "error"};

guest_scope& self_of(const v8::FunctionCallbackInfo<v8::Value>& args) {
  return *static_cast<guest_scope*>(args.Data().As<v8::External>()->Value());
}

void throw_type_error(v8::Isolate* iso, const std::string& m) {
  iso->ThrowException(v8::Exception::TypeError(v8_string(iso, m)));
}

v8::Local<v8::Function> function(v8::Local<v8::Context> ctx, v8::FunctionCallback cb, v8::Local<v8::Value> data,
                                 const char* name, int length) {
  v8::Isolate* iso = ctx->GetIsolate();
  auto f = v8::Function::New(ctx, cb, data, length, v8::ConstructorBehavior::kThrow).ToLocalChecked();
  f->SetName(v8_string(iso, name));
  freeze(ctx, f);
  return f;
}

// A frozen object with a null prototype holding `fields`.
v8::Local<v8::Object> frozen_record(v8::Local<v8::Context> ctx,
                                    std::initializer_list<std::pair<const char*, v8::Local<v8::Value>>> fields) {
  std::vector<v8::Local<v8::Name>> names;
  std::vector<v8::Local<v8::Value>> values;
  for (const auto& [k, v] : fields) {
    names.push_back(v8_string(ctx->GetIsolate(), k));
    values.push_back(v);
  }
  return frozen_object(ctx, names, values);
}

// An ArrayBuffer of `n` bytes counted against the isolate's budget. V8 aborts
// the process when an embedder's ArrayBuffer allocation fails, so the budget is
// checked first and an over-budget request throws a RangeError instead.
v8::MaybeLocal<v8::ArrayBuffer> new_buffer(guest_scope& w, v8::Isolate* iso, std::size_t n) {
  auto& alloc = w.isolate().allocator();
  if (n > w.isolate().key().array_buffer_bytes || alloc.used() > w.isolate().key().array_buffer_bytes - n) {
    alloc.note_refusal();
    iso->ThrowException(v8::Exception::RangeError(v8_string(iso, "Array buffer allocation failed")));
    return {};
  }
  std::shared_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(iso, n);
  return v8::ArrayBuffer::New(iso, std::move(store));
}

bool bytes_of(v8::Local<v8::Value> v, const unsigned char*& data, std::size_t& size) {
  if (v->IsArrayBuffer()) {
    auto b = v.As<v8::ArrayBuffer>();
    data = static_cast<const unsigned char*>(b->Data());
    size = b->ByteLength();
    return true;
  }
  if (v->IsArrayBufferView()) {
    auto view = v.As<v8::ArrayBufferView>();
    data = static_cast<const unsigned char*>(view->Buffer()->Data()) + view->ByteOffset();
    size = view->ByteLength();
    return true;
  }
  return false;
}

// `bytes` in a new ArrayBuffer counted against the isolate's budget.
v8::MaybeLocal<v8::ArrayBuffer> buffer_from(guest_scope& w, v8::Isolate* iso, const std::string& bytes) {
  v8::Local<v8::ArrayBuffer> ab;
  if (!new_buffer(w, iso, bytes.size()).ToLocal(&ab)) return {};
  if (!bytes.empty()) std::memcpy(ab->Data(), bytes.data(), bytes.size());
  return ab;
}

// Headers as the prelude takes them: [[name, value], ...].
v8::Local<v8::Array> header_array(v8::Isolate* iso, const header_list& headers) {
  std::vector<v8::Local<v8::Value>> pairs;
  pairs.reserve(headers.size());
  for (const auto& [k, v] : headers) {
    v8::Local<v8::Value> kv[] = {v8_string(iso, k), v8_string(iso, v)};
    pairs.push_back(v8::Array::New(iso, kv, 2));
  }
  return v8::Array::New(iso, pairs.data(), pairs.size());
}

// The reverse, from a copied guest value; false unless it is [[string, string], ...].
bool read_headers(const json::value& v, header_list& out) {
  if (!v.is_array()) return false;
  for (const auto& h : v.get_array()) {
    const auto* kv = h.if_array();
    if (!kv || kv->size() != 2 || !(*kv)[0].is_string() || !(*kv)[1].is_string()) return false;
    out.emplace_back((*kv)[0].get_string(), (*kv)[1].get_string());
  }
  return true;
}

bool valid_utf8(const unsigned char* s, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    std::uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

// How console shows one argument: strings as they are, data as JSON.
std::string show(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v) {
  v8::Isolate* iso = ctx->GetIsolate();
  if (v->IsString()) return utf8(iso, v);
  if (v->IsUndefined()) return "undefined";
  if (v->IsSymbol()) return "Symbol()";
  if (v->IsBigInt()) return utf8(iso, v) + "n";
  if (!v->IsObject()) return utf8(iso, v);
  if (v->IsNativeError()) {
    const thrown t = describe_thrown(ctx, v);
    return t.stack.empty() ? t.message : t.message + "\n" + t.stack;
  }
  if (v->IsFunction()) return "[function]";
  copy_failure why;
  auto copy = from_guest(ctx, v, 16 << 10, why);
  return copy ? json::serialize(*copy) : "[" + why.why + "]";
}

// The code cache of the prelude: compiled once per process, then consumed
// by every context of every isolate.
struct prelude_cache {
  std::mutex m;
  std::string bytes;
};
prelude_cache& cache() {
  static prelude_cache c;
  return c;
}

task<void> run_host_function(host_function fn, json::array args, std::weak_ptr<pool_state> pool, unsigned thread,
                             std::uint64_t key, std::uint64_t call) {
  worker_instance::host_answer a;
  try {
    a.value = co_await fn(std::move(args));
  } catch (const std::exception& e) {
    a.ok = false;
    a.error = e.what();
  } catch (...) {
    a.ok = false;
    a.error = "the host function failed";
  }
  if (auto p = pool.lock()) p->thread(thread).post_host_reply(key, call, std::move(a));
}

// The host side of an actor stub's call: (key, isId, method, ...args).
task<json::value> call_actor(actor_grant grant, json::array a) {
  if (a.size() < 3 || !a[0].is_string() || !a[1].is_bool() || !a[2].is_string())
    throw std::invalid_argument("an actor stub was called with malformed arguments");
  std::string key(a[0].as_string()), method(a[2].as_string());
  if (std::find(grant.methods.begin(), grant.methods.end(), method) == grant.methods.end())
    throw std::invalid_argument("the actor offers no method '" + method + "'");
  const bool is_id = a[1].as_bool();
  json::array args(std::make_move_iterator(a.begin() + 3), std::make_move_iterator(a.end()));
  co_return co_await grant.call(std::move(key), is_id, std::move(method), std::move(args));
}

host_function actor_caller(const actor_grant& grant) {
  return [grant](json::array a) { return call_actor(grant, std::move(a)); };
}

task<void> run_fetch(fetch_policy policy, outbound_request req, unsigned left, std::size_t max_body,
                     std::weak_ptr<pool_state> pool, unsigned thread, std::uint64_t key, std::uint64_t call) {
  worker_instance::host_answer a = co_await perform_fetch(std::move(policy), std::move(req), left, max_body);
  if (auto p = pool.lock()) p->thread(thread).post_host_reply(key, call, std::move(a));
}

}  // namespace

// ---- globals -----------------------------------------------------------------------

void worker_instance::install_globals(v8::Local<v8::Context> ctx) { natives::install(*this, ctx); }
v8::Local<v8::Object> worker_instance::make_env(v8::Local<v8::Context> ctx) { return natives::make_env(*this, ctx); }

void worker_instance::append_console(std::string_view level, std::string text) {
  run* r = current_;
  if (!r || r->console_cut) return;
  std::string entry = level == "log" || level == "info" || level == "debug" ? std::move(text)
                                                                             : "[" + std::string(level) + "] " + text;
  entry += '\n';
  const std::size_t limit = code_.limits.console_bytes;
  if (r->console.size() + entry.size() <= limit) {
    r->console += entry;
    return;
  }
  r->console.append(entry, 0, limit - r->console.size());
  r->console += "\n[console output cut at " + std::to_string(limit) + " bytes]\n";
  r->console_cut = true;
}

void natives::install(guest_scope& w, v8::Local<v8::Context> ctx) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::HandleScope hs(iso);
  auto global = ctx->Global();
  auto data = v8::External::New(iso, &w);
  // Nothing of the guest has run yet: reading our own fresh globals is safe.
  v8::Local<v8::Value> atomics;
  if (global->Get(ctx, v8_string(iso, "Atomics")).ToLocal(&atomics) && atomics->IsObject()) {
    std::ignore = atomics.As<v8::Object>()->Delete(ctx, v8_string(iso, "wait"));
    std::ignore = atomics.As<v8::Object>()->Delete(ctx, v8_string(iso, "waitAsync"));
  }
  std::ignore = global->Delete(ctx, v8_string(iso, "SharedArrayBuffer"));
  if (!w.wasm_granted()) std::ignore = global->Delete(ctx, v8_string(iso, "WebAssembly"));

  auto set = [&](const char* name, v8::Local<v8::Value> v) {
    std::ignore = global->DefineOwnProperty(ctx, v8_string(iso, name), v, v8::DontEnum);
  };
  set("console", frozen_record(ctx, {{"log", function(ctx, &console_write<0>, data, "log", 0)},
                                     {"info", function(ctx, &console_write<1>, data, "info", 0)},
                                     {"debug", function(ctx, &console_write<2>, data, "debug", 0)},
                                     {"warn", function(ctx, &console_write<3>, data, "warn", 0)},
                                     {"error", function(ctx, &console_write<4>, data, "error", 0)}}));
  set("queueMicrotask", function(ctx, &queue_microtask, data, "queueMicrotask", 1));
  set("structuredClone", function(ctx, &structured_clone, data, "structuredClone", 1));
  set("crypto", frozen_record(ctx, {{"getRandomValues", function(ctx, &get_random_values, data, "getRandomValues", 1)},
                                    {"randomUUID", function(ctx, &random_uuid, data, "randomUUID", 0)},
                                    {"subtle", frozen_record(ctx, {{"digest", function(ctx, &digest, data, "digest", 2)}})}}));
  // The prelude's globals: lazy data properties that run the prelude on the
  // first read of any of them (most workers never do).
  for (const char* name : {"TextEncoder", "TextDecoder", "DOMException", "URL", "URLSearchParams", "Headers", "Request",
                           "Response", "fetch", "atob", "btoa"})
    std::ignore = global->SetLazyDataProperty(ctx, v8_string(iso, name), &lazy_global, v8::Local<v8::Value>(), v8::DontEnum);
}

v8::Local<v8::Object> natives::helpers(guest_scope& w, v8::Local<v8::Context> ctx) {
  if (w.helpers.IsEmpty()) run_prelude(w, ctx);
  return w.helpers.Get(ctx->GetIsolate());
}

v8::MaybeLocal<v8::Object> natives::helpers_in_guest(guest_scope& w, v8::Local<v8::Context> ctx) {
  v8::Isolate* iso = ctx->GetIsolate();
  try {
    return helpers(w, ctx);
  } catch (const std::exception& e) {
    // Terminated (a limit) while the prelude ran: let the termination unwind.
    if (!iso->IsExecutionTerminating()) iso->ThrowException(v8::Exception::Error(v8_string(iso, e.what())));
    return {};
  }
}

void natives::lazy_global(v8::Local<v8::Name> name, const v8::PropertyCallbackInfo<v8::Value>& info) {
  v8::Isolate* iso = info.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  guest_scope* w = guest_scope::of(ctx);
  if (!w) return;
  v8::Local<v8::Object> h;
  if (!helpers_in_guest(*w, ctx).ToLocal(&h)) return;
  v8::Local<v8::Value> get, value;
  if (!data_property(ctx, h, "global").ToLocal(&get) || !get->IsFunction()) return;
  v8::Local<v8::Value> arg = name;
  if (get.As<v8::Function>()->Call(ctx, v8::Undefined(iso), 1, &arg).ToLocal(&value)) info.GetReturnValue().Set(value);
}

namespace {

// Compiled once per isolate (from the process-wide code cache after the
// first), then bound to each new context.
template <class Fail>
v8::Local<v8::UnboundScript> prelude_script(tenant_isolate& ti, Fail& fail) {
  v8::Isolate* iso = ti.get();
  if (!ti.prelude.IsEmpty()) return ti.prelude.Get(iso);
  v8::ScriptOrigin origin(iso, v8_string(iso, "cairn:prelude"));
  v8::ScriptCompiler::CachedData* cached = nullptr;
  {
    std::lock_guard lock(cache().m);
    if (!cache().bytes.empty())
      cached = new v8::ScriptCompiler::CachedData(reinterpret_cast<const uint8_t*>(cache().bytes.data()),
                                                  static_cast<int>(cache().bytes.size()));
  }
  v8::ScriptCompiler::Source source(prelude_source(iso), origin, cached);  // owns `cached`
  v8::Local<v8::UnboundScript> script;
  if (!v8::ScriptCompiler::CompileUnboundScript(
           iso, &source, cached ? v8::ScriptCompiler::kConsumeCodeCache : v8::ScriptCompiler::kNoCompileOptions)
           .ToLocal(&script))
    fail("does not compile");
  ti.prelude.Reset(iso, script);
  return script;
}

// Made after the first run and install, so the cache also holds the functions
// they compiled lazily: later isolates then compile none of them.
void remember_code_cache(tenant_isolate& ti) {
  {
    std::lock_guard lock(cache().m);
    if (!cache().bytes.empty()) return;
  }
  v8::HandleScope scope(ti.get());
  std::unique_ptr<v8::ScriptCompiler::CachedData> made(v8::ScriptCompiler::CreateCodeCache(ti.prelude.Get(ti.get())));
  std::lock_guard lock(cache().m);
  if (made && cache().bytes.empty()) cache().bytes.assign(reinterpret_cast<const char*>(made->data), made->length);
}

}  // namespace

void natives::run_prelude(guest_scope& w, v8::Local<v8::Context> ctx) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::TryCatch tc(iso);
  auto fail = [&](const char* what) {
    const std::string why = tc.HasCaught() ? describe_thrown(ctx, tc.Exception()).message : "";
    throw std::runtime_error(std::string("cairn sandbox: the prelude ") + what + ": " + why);
  };
  v8::Local<v8::Script> script = prelude_script(w.isolate(), fail)->BindToCurrentContext();
  if (script->Run(ctx).IsEmpty()) fail("failed to run");
  auto global = ctx->Global();
  auto key = v8_string(iso, "__cairn_install");
  v8::Local<v8::Value> install;
  if (!global->Get(ctx, key).ToLocal(&install) || !install->IsFunction()) fail("defines no installer");
  std::ignore = global->Delete(ctx, key);
  auto data = v8::External::New(iso, &w);
  v8::Local<v8::Value> arg = frozen_record(ctx, {{"utf8Encode", function(ctx, &utf8_encode, data, "utf8Encode", 1)},
                                                 {"utf8Decode", function(ctx, &utf8_decode, data, "utf8Decode", 3)},
                                                 {"fetch", function(ctx, &fetch, data, "fetch", 4)}});
  v8::Local<v8::Value> helpers;
  if (!install.As<v8::Function>()->Call(ctx, v8::Undefined(iso), 1, &arg).ToLocal(&helpers) || !helpers->IsObject())
    fail("install failed");
  w.helpers.Reset(iso, helpers.As<v8::Object>());
  remember_code_cache(w.isolate());
}

v8::Local<v8::Object> natives::make_env(worker_instance& w, v8::Local<v8::Context> ctx) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::EscapableHandleScope scope(iso);
  std::vector<v8::Local<v8::Name>> names;
  std::vector<v8::Local<v8::Value>> values;
  for (const auto& kv : w.code_.env) {
    names.push_back(v8_string(iso, kv.key()));
    values.push_back(to_guest(ctx, kv.value()));
  }
  for (const auto& [name, fn] : w.code_.functions) {
    auto& b = w.bindings_.emplace_back(std::make_unique<worker_instance::binding>(worker_instance::binding{&w, name, fn}));
    names.push_back(v8_string(iso, name));
    values.push_back(function(ctx, &env_call, v8::External::New(iso, b.get()), name.c_str(), 0));
  }
  // An actor namespace is a guest object (the prelude's actorNamespace) over
  // one hidden host function that takes (key, isId, method, ...args).
  for (const auto& [name, grant] : w.code_.actors) {
    auto make_namespace = helpers(w, ctx)->Get(ctx, v8_string(iso, "actorNamespace")).ToLocalChecked().As<v8::Function>();
    auto& b = w.bindings_.emplace_back(
        std::make_unique<worker_instance::binding>(worker_instance::binding{&w, name, actor_caller(grant)}));
    std::vector<v8::Local<v8::Value>> methods;
    for (const auto& m : grant.methods) methods.push_back(v8_string(iso, m));
    v8::Local<v8::Value> argv[] = {function(ctx, &env_call, v8::External::New(iso, b.get()), name.c_str(), 0),
                                   v8::Array::New(iso, methods.data(), methods.size())};
    v8::Local<v8::Value> ns;
    if (!make_namespace->Call(ctx, v8::Undefined(iso), 2, argv).ToLocal(&ns))
      throw std::runtime_error("cairn sandbox: the stubs of env." + name + " could not be made");
    names.push_back(v8_string(iso, name));
    values.push_back(ns);
  }
  return scope.Escape(frozen_object(ctx, names, values));
}

// ---- console, env functions, fetch --------------------------------------------------------

template <int Level>
void natives::console_write(const info& args) {
  auto& w = self_of(args);
  auto ctx = args.GetIsolate()->GetCurrentContext();
  std::string line;
  for (int i = 0; i < args.Length(); ++i) {
    if (i) line += ' ';
    line += show(ctx, args[i]);
    if (line.size() > w.console_bytes()) break;
  }
  w.append_console(level_names[Level], std::move(line));
}

void natives::env_call(const info& args) {
  auto* b = static_cast<worker_instance::binding*>(args.Data().As<v8::External>()->Value());
  worker_instance& w = *b->self;
  v8::Isolate* iso = args.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  run* r = w.current_;
  const auto& lim = w.code_.limits;
  // A host call costs the host memory and a task outside the isolate's heap
  // limit: their number and their arguments' bytes are limited per call.
  auto refuse = [&](const std::string& why) {
    if (r) {
      r->limited = true;
      r->limit_code = errc::request_limit;
      r->limit_why = why;
    }
    throw_type_error(iso, why);
  };
  if (r && r->host_calls >= lim.max_host_calls)
    return refuse("the call made more than " + std::to_string(lim.max_host_calls) + " host calls");
  const std::size_t budget = r ? lim.result_bytes - std::min(lim.result_bytes, r->host_call_bytes) : lim.result_bytes;
  json::array in;
  for (int i = 0; i < args.Length(); ++i) {
    copy_failure why;
    auto v = from_guest(ctx, args[i], budget, why);
    if (!v) {
      if (why.too_large && r && r->host_call_bytes > 0)
        return refuse("the host calls of this call passed more than " + std::to_string(lim.result_bytes) +
                      " bytes of arguments");
      return throw_type_error(iso, "env." + b->name + ": argument " + std::to_string(i + 1) + ": " + why.why);
    }
    in.push_back(std::move(*v));
  }
  if (r) {
    r->host_calls += 1;
    r->host_call_bytes += json::serialize(in).size();
    if (r->host_call_bytes > lim.result_bytes)
      return refuse("the host calls of this call passed more than " + std::to_string(lim.result_bytes) +
                    " bytes of arguments");
  }
  v8::Local<v8::Promise::Resolver> resolver;
  const std::uint64_t id = w.begin_host_call(ctx, resolver);
  args.GetReturnValue().Set(resolver->GetPromise());
  const unsigned shard = r ? r->done->caller_shard : 0;
  if (!w.thread_.spawn_on_shard(shard, run_host_function(b->fn, std::move(in),
                                                         w.thread_.pool().weak_from_this(), w.thread_.index(),
                                                         w.key_, id))) {
    w.host_calls_.erase(id);
    std::ignore = resolver->Reject(ctx, v8::Exception::Error(v8_string(iso, "the host runtime has stopped")));
  }
}

// The request of fetch(url, method, headers, body); false with a TypeError pending.
static bool outbound_of_args(const v8::FunctionCallbackInfo<v8::Value>& args, outbound_request& req) {
  v8::Isolate* iso = args.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  req.url = utf8(iso, args[0]);
  req.method = utf8(iso, args[1]);
  copy_failure why;
  auto headers = from_guest(ctx, args[2], 1 << 20, why);
  if (!headers || !read_headers(*headers, req.headers))
    return throw_type_error(iso, "fetch: bad headers" + (why.why.empty() ? "" : ": " + why.why)), false;
  const unsigned char* body = nullptr;
  std::size_t body_size = 0;
  if (bytes_of(args[3], body, body_size)) req.body.assign(reinterpret_cast<const char*>(body), body_size);
  return true;
}

void natives::fetch(const info& args) {
  v8::Isolate* iso = args.GetIsolate();
  worker_instance* wp = self_of(args).worker();
  if (!wp) {
    outbound_request req;
    v8::Local<v8::Promise> p;
    if (outbound_of_args(args, req) &&
        self_of(args).fetch_outside_worker(iso->GetCurrentContext(), std::move(req)).ToLocal(&p))
      args.GetReturnValue().Set(p);
    return;
  }
  worker_instance& w = *wp;
  auto ctx = iso->GetCurrentContext();
  v8::Local<v8::Promise::Resolver> resolver;
  run* r = w.current_;
  auto refuse = [&](errc code, const std::string& why) {
    if (r) {
      r->limited = true;
      r->limit_code = code;
      r->limit_why = why;
    }
    resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
    std::ignore = resolver->Reject(ctx, v8::Exception::TypeError(v8_string(iso, why)));
    args.GetReturnValue().Set(resolver->GetPromise());
  };
  const auto& policy = w.code_.fetch;
  if (policy.mode() == fetch_policy::kind::none)
    return refuse(errc::not_granted, "fetch is not granted to this worker (its fetch policy is none)");
  if (!r) return refuse(errc::not_granted, "fetch outside of a call");
  if (r->requests >= w.code_.limits.max_requests)
    return refuse(errc::request_limit,
                  "the call made more than " + std::to_string(w.code_.limits.max_requests) + " outbound requests");
  outbound_request req;
  if (!outbound_of_args(args, req)) return;
  const unsigned left = w.code_.limits.max_requests - r->requests;
  r->requests += 1;  // redirect hops are counted against `left` by perform_fetch
  const std::uint64_t id = w.begin_host_call(ctx, resolver);
  args.GetReturnValue().Set(resolver->GetPromise());
  if (!w.thread_.spawn_on_shard(r->done->caller_shard,
                                run_fetch(policy, std::move(req), left, w.code_.limits.result_bytes,
                                          w.thread_.pool().weak_from_this(), w.thread_.index(), w.key_, id))) {
    w.host_calls_.erase(id);
    std::ignore = resolver->Reject(ctx, v8::Exception::TypeError(v8_string(iso, "the host runtime has stopped")));
  }
}

v8::MaybeLocal<v8::Value> natives::make_response_init(v8::Local<v8::Context> ctx, const outbound_response& r) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::EscapableHandleScope scope(iso);
  auto* w = guest_scope::of(ctx);
  v8::Local<v8::ArrayBuffer> body;
  if (!buffer_from(*w, iso, r.body).ToLocal(&body)) return {};
  v8::Local<v8::Name> names[] = {v8_string(iso, "status"), v8_string(iso, "statusText"), v8_string(iso, "headers"),
                                 v8_string(iso, "body"), v8_string(iso, "url")};
  v8::Local<v8::Value> values[] = {v8::Integer::NewFromUnsigned(iso, r.status), v8_string(iso, ""),
                                   header_array(iso, r.headers), body, v8_string(iso, r.url)};
  return scope.Escape(v8::Object::New(iso, v8::Null(iso), names, values, 5));
}

v8::MaybeLocal<v8::Promise> natives::call_fetch_handler(v8::Local<v8::Context> ctx, v8::Local<v8::Object> self,
                                                        v8::Local<v8::Function> handler, v8::Local<v8::Object> env,
                                                        const outbound_request& req) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::EscapableHandleScope scope(iso);
  auto* w = guest_scope::of(ctx);
  if (w->run_fetch.IsEmpty()) {
    v8::Local<v8::Object> h;
    if (!helpers_in_guest(*w, ctx).ToLocal(&h)) return {};
    v8::Local<v8::Value> m, r;
    if (!data_property(ctx, h, "makeRequest").ToLocal(&m) || !data_property(ctx, h, "runFetch").ToLocal(&r) ||
        !m->IsFunction() || !r->IsFunction())
      return {};
    w->make_request.Reset(iso, m.As<v8::Function>());
    w->run_fetch.Reset(iso, r.As<v8::Function>());
  }
  v8::Local<v8::Function> make = w->make_request.Get(iso), run_fetch_fn = w->run_fetch.Get(iso);
  v8::Local<v8::ArrayBuffer> body;
  if (!buffer_from(*w, iso, req.body).ToLocal(&body)) return {};
  v8::Local<v8::Value> margs[] = {v8_string(iso, req.url), v8_string(iso, req.method), header_array(iso, req.headers),
                                  body};
  v8::Local<v8::Value> request;
  if (!make.As<v8::Function>()->Call(ctx, v8::Undefined(iso), 4, margs).ToLocal(&request)) return {};
  v8::Local<v8::Value> rargs[] = {self, handler, request, env};
  v8::Local<v8::Value> p;
  if (!run_fetch_fn.As<v8::Function>()->Call(ctx, v8::Undefined(iso), 4, rargs).ToLocal(&p) || !p->IsPromise())
    return {};
  return scope.Escape(p.As<v8::Promise>());
}

bool natives::read_response(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, std::size_t max_bytes,
                            outbound_response& out, std::string& why) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::HandleScope scope(iso);
  if (!v->IsObject()) return why = "not an object", false;
  auto o = v.As<v8::Object>();
  v8::Local<v8::Value> status, headers, body;
  if (!data_property(ctx, o, "status").ToLocal(&status) || !status->IsNumber()) return why = "no status", false;
  out.status = static_cast<unsigned>(status.As<v8::Number>()->Value());
  copy_failure cf;
  if (!data_property(ctx, o, "headers").ToLocal(&headers)) return why = "no headers", false;
  auto h = from_guest(ctx, headers, max_bytes, cf);
  if (!h || !read_headers(*h, out.headers)) return why = "bad headers" + (cf.why.empty() ? "" : ": " + cf.why), false;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  if (!data_property(ctx, o, "body").ToLocal(&body)) return why = "no body", false;
  if (body->IsString()) {  // a text body, as the handler gave it
    if (static_cast<std::size_t>(body.As<v8::String>()->Length()) > max_bytes)
      return why = "the body is larger than " + std::to_string(max_bytes) + " bytes", false;
    out.body = utf8(iso, body);
    if (out.body.size() > max_bytes) return why = "the body is larger than " + std::to_string(max_bytes) + " bytes", false;
    return true;
  }
  if (!bytes_of(body, data, size)) return why = "no body", false;
  if (size > max_bytes) return why = "the body is larger than " + std::to_string(max_bytes) + " bytes", false;
  out.body.assign(reinterpret_cast<const char*>(data), size);
  return true;
}

// ---- the small platform natives -------------------------------------------------------

void natives::queue_microtask(const info& args) {
  if (args.Length() < 1 || !args[0]->IsFunction())
    return throw_type_error(args.GetIsolate(), "queueMicrotask: the argument is not a function");
  args.GetIsolate()->EnqueueMicrotask(args[0].As<v8::Function>());
}

void natives::structured_clone(const info& args) {
  auto ctx = args.GetIsolate()->GetCurrentContext();
  std::string bytes;
  v8::Local<v8::Value> out;
  if (!clone_out(ctx, args[0], bytes) || !clone_in(ctx, bytes).ToLocal(&out)) return;  // DataCloneError is pending
  args.GetReturnValue().Set(out);
}

void natives::get_random_values(const info& args) {
  v8::Isolate* iso = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsArrayBufferView() || args[0]->IsFloat32Array() || args[0]->IsFloat64Array() ||
      args[0]->IsDataView())
    return throw_type_error(iso, "crypto.getRandomValues: the argument is not an integer typed array");
  auto view = args[0].As<v8::ArrayBufferView>();
  if (view->ByteLength() > 65536) {
    iso->ThrowException(v8::Exception::RangeError(
        v8_string(iso, "crypto.getRandomValues: more than 65536 bytes were asked for (QuotaExceededError)")));
    return;
  }
  auto* p = static_cast<unsigned char*>(view->Buffer()->Data()) + view->ByteOffset();
  if (view->ByteLength() && RAND_bytes(p, static_cast<int>(view->ByteLength())) != 1)
    return throw_type_error(iso, "crypto.getRandomValues: no randomness available");
  args.GetReturnValue().Set(args[0]);
}

void natives::random_uuid(const info& args) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return throw_type_error(args.GetIsolate(), "crypto.randomUUID: no randomness");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  args.GetReturnValue().Set(v8_string(args.GetIsolate(), out));
}

void natives::digest(const info& args) {
  v8::Isolate* iso = args.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  auto& w = self_of(args);
  auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
  args.GetReturnValue().Set(resolver->GetPromise());
  std::string name;
  if (args[0]->IsString()) {
    name = utf8(iso, args[0]);
  } else if (args[0]->IsObject()) {
    v8::Local<v8::Value> n;
    if (data_property(ctx, args[0].As<v8::Object>(), "name").ToLocal(&n) && n->IsString()) name = utf8(iso, n);
  }
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const EVP_MD* md = name == "SHA-1" ? EVP_sha1() : name == "SHA-256" ? EVP_sha256() : name == "SHA-384" ? EVP_sha384()
                   : name == "SHA-512" ? EVP_sha512() : nullptr;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  if (!md || !bytes_of(args[1], data, size)) {
    std::ignore = resolver->Reject(ctx, v8::Exception::TypeError(v8_string(
                                    iso, md ? "crypto.subtle.digest: the data is not a BufferSource"
                                            : "crypto.subtle.digest: unsupported algorithm (SHA-1, SHA-256, SHA-384, SHA-512)")));
    return;
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data, size, out, &len, md, nullptr);
  v8::Local<v8::ArrayBuffer> ab;
  v8::TryCatch tc(iso);
  if (!new_buffer(w, iso, len).ToLocal(&ab)) {
    std::ignore = resolver->Reject(ctx, tc.Exception());
    return;
  }
  std::memcpy(ab->Data(), out, len);
  std::ignore = resolver->Resolve(ctx, ab);
}

void natives::utf8_encode(const info& args) {
  v8::Isolate* iso = args.GetIsolate();
  auto& w = self_of(args);
  if (!args[0]->IsString()) return throw_type_error(iso, "utf8Encode: not a string");
  auto s = args[0].As<v8::String>();
  const int n = s->Utf8Length(iso);
  v8::Local<v8::ArrayBuffer> ab;
  if (!new_buffer(w, iso, static_cast<std::size_t>(n)).ToLocal(&ab)) return;
  s->WriteUtf8(iso, static_cast<char*>(ab->Data()), n, nullptr,
               v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
  args.GetReturnValue().Set(v8::Uint8Array::New(ab, 0, static_cast<std::size_t>(n)));
}

void natives::utf8_decode(const info& args) {
  v8::Isolate* iso = args.GetIsolate();
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  if (!bytes_of(args[0], data, size)) return throw_type_error(iso, "TextDecoder: not a BufferSource");
  const bool fatal = args[1]->IsTrue();
  const bool ignore_bom = args[2]->IsTrue();
  if (fatal && !valid_utf8(data, size)) return throw_type_error(iso, "TextDecoder: the data is not valid UTF-8");
  if (!ignore_bom && size >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf) {
    data += 3;
    size -= 3;
  }
  if (size > static_cast<std::size_t>(v8::String::kMaxLength)) {
    iso->ThrowException(v8::Exception::RangeError(v8_string(iso, "TextDecoder: the text is too long")));
    return;
  }
  v8::Local<v8::String> s;
  if (!v8::String::NewFromUtf8(iso, reinterpret_cast<const char*>(data), v8::NewStringType::kNormal,
                               static_cast<int>(size))
           .ToLocal(&s)) {
    iso->ThrowException(v8::Exception::RangeError(v8_string(iso, "TextDecoder: the text is too long")));
    return;
  }
  args.GetReturnValue().Set(s);
}

}  // namespace cairn::sandbox::detail
