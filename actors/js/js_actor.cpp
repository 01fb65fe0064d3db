#include <tuple>

#include <cairn/js/js_actor.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>

#include <cairn/js/registry.hpp>
#include <cairn/runtime.hpp>
#include <cairn/storage.hpp>

#include "class_host.hpp"
#include "registry_state.hpp"
#include "sandbox/natives.hpp"
#include "sandbox/values.hpp"

namespace cairn::js {
namespace json = boost::json;
namespace sd = cairn::sandbox::detail;
using detail::settle_wait;
using sd::v8_string;

namespace {

std::atomic<std::uint64_t> next_handle{1};

// The RPC receiver's method `name`: an own or inherited function that is not
// the constructor nor one of Object.prototype's.
v8::MaybeLocal<v8::Function> rpc_method(v8::Local<v8::Context> ctx, v8::Local<v8::Object> self, const std::string& name) {
  v8::Isolate* iso = ctx->GetIsolate();
  auto key = v8_string(iso, name);
  v8::Local<v8::Value> f, base;
  if (name != "constructor" && self->Get(ctx, key).ToLocal(&f) && f->IsFunction()) {
    auto object_proto = v8::Object::New(iso)->GetPrototype().As<v8::Object>();
    if (!object_proto->Get(ctx, key).ToLocal(&base) || base != f) return f.As<v8::Function>();
  }
  iso->ThrowException(v8::Exception::TypeError(
      v8_string(iso, "The RPC receiver does not implement the method \"" + name + "\".")));
  return {};
}

v8::MaybeLocal<v8::Value> invoke(v8::Local<v8::Context> ctx, v8::Local<v8::Object> self, const std::string& method,
                                 v8::Local<v8::Value> args) {
  v8::Local<v8::Function> f;
  if (!rpc_method(ctx, self, method).ToLocal(&f)) return {};
  if (!args->IsArray()) return {};
  auto a = args.As<v8::Array>();
  std::vector<v8::Local<v8::Value>> argv(a->Length());
  for (uint32_t i = 0; i < a->Length(); ++i)
    if (!a->Get(ctx, i).ToLocal(&argv[i])) return {};
  return f->Call(ctx, self, static_cast<int>(argv.size()), argv.data());
}

// The arguments after the socket object: (message), (code, reason, wasClean) or (error).
using socket_args = std::function<std::vector<v8::Local<v8::Value>>(v8::Local<v8::Context>)>;

task<void> socket_event(std::shared_ptr<detail::class_host> host, js_actor& self, http::websocket ws,
                        const char* handler, socket_args more) {
  self.remember(ws);
  settle_wait w(*host);  // the caller made it live
  const std::uint64_t id = ws.id();
  host->start_event(self, w, [&](v8::Local<v8::Context> ctx, v8::Local<v8::Object> object) -> v8::MaybeLocal<v8::Value> {
    v8::Isolate* iso = ctx->GetIsolate();
    v8::Local<v8::Value> f;
    if (!object->Get(ctx, v8_string(iso, handler)).ToLocal(&f)) return {};
    if (!f->IsFunction()) return v8::Undefined(iso);  // a class may leave any of them out
    v8::Local<v8::Value> ws_object;
    if (!host->socket_object(ctx, self.handle(), id).ToLocal(&ws_object)) return {};
    std::vector<v8::Local<v8::Value>> argv{ws_object};
    for (auto& v : more(ctx)) argv.push_back(v);
    return f.As<v8::Function>()->Call(ctx, object, static_cast<int>(argv.size()), argv.data());
  });
  co_await w;
  host->take_void(w);
}

}  // namespace

js_actor::js_actor() = default;

js_actor::~js_actor() {
  if (host_ && built_) host_->destroy(handle_);
}

task<void> js_actor::on_start() {
  auto& reg = runtime().service<registry>().state();
  detail::class_entry* cls = reg.class_of(id().ns());
  if (!cls) throw std::logic_error("cairn: " + id().namespace_name() + " is not a JS namespace");
  host_ = reg.host_for(*cls);
  co_return;
}

void js_actor::mark_stale() noexcept {
  stale_ = true;
  // Its blocks end with it: else the events held could never reach the
  // next object (one whose callback never settles, one that failed).
  while (holds_ > 0) release_events();
}

void js_actor::hold_events() noexcept {
  if (stale_) return;
  ++holds_;
  cairn::detail::actor_access::block(*this);
}

void js_actor::release_events() noexcept {
  if (holds_ == 0) return;  // released by a reset already
  --holds_;
  cairn::detail::actor_access::unblock(*this);
}

std::uint64_t js_actor::begin_transaction() {
  storage().begin_nested();
  transactions_.push_back(next_transaction_);
  return next_transaction_++;
}

bool js_actor::transaction_open(std::uint64_t id) const noexcept {
  return std::find(transactions_.begin(), transactions_.end(), id) != transactions_.end();
}

bool js_actor::end_transaction(std::uint64_t id, bool commit) {
  if (!transaction_open(id)) return false;
  while (transactions_.back() != id) {  // begun inside it and never ended: undone with it
    storage().rollback_nested();
    transactions_.pop_back();
  }
  transactions_.pop_back();
  if (commit) storage().commit_nested();
  else storage().rollback_nested();
  return true;
}

void js_actor::abandon_transactions() noexcept {
  for (; !transactions_.empty(); transactions_.pop_back()) storage().rollback_nested();
}

void js_actor::load_name() {
  if (name_loaded_) return;
  name_loaded_ = true;
  try {
    name_ = storage().id_name();
  } catch (const storage_error& e) {
    if (e.kind() != storage_error::reason::unavailable) throw;
  }
}

void js_actor::learn_name(std::string id_name) {
  if (name_ == id_name) return;
  load_name();
  if (name_ != id_name) {
    try {
      storage().record_id_name(id_name);  // checks it against the id first, whatever the storage's state
      cairn::detail::end_segment(this);  // its own segment: the event's failure does not undo it
    } catch (const storage_error& e) {
      if (e.kind() != storage_error::reason::unavailable) throw;  // no data directory: known in memory only
    }
  }
  name_ = std::move(id_name);
  if (built_) host_->name(handle_, *name_);
}

task<void> js_actor::prepare(std::optional<std::string> id_name) {
  if (id_name) {
    learn_name(std::move(*id_name));
  } else if (!name_) {
    load_name();
  }
  if (built_ && !stale_ && !host_->retired()) co_return;
  auto& reg = runtime().service<registry>().state();
  if (built_) {
    host_->destroy(handle_);  // fails what still waits on the old object
    built_ = false;
    sockets_.clear();  // their JS objects belonged to the old one
  }
  if (host_->retired()) {
    auto old = std::exchange(host_, reg.host_for(*reg.class_of(id().ns())));
    old->settle_now();  // it runs no more slices: its failed waits resume now
  }
  handle_ = next_handle.fetch_add(1, std::memory_order_relaxed);
  stale_ = false;
  detail::settle_wait blocks(*host_);
  const bool blocked = host_->construct(*this, handle_, name_, blocks);  // the constructor runs (again, after a reset)
  built_ = true;
  if (blocked) {
    co_await blocks;
    host_->take_void(blocks);
  }
}

task<json::value> js_actor::call(std::string method, json::array args) {
  co_await prepare(std::nullopt);
  settle_wait w(*host_);
  const std::string text = json::serialize(args);
  host_->start_event(*this, w, [&](v8::Local<v8::Context> ctx, v8::Local<v8::Object> self) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Value> parsed;
    if (!v8::JSON::Parse(ctx, v8_string(ctx->GetIsolate(), text)).ToLocal(&parsed)) return {};
    return invoke(ctx, self, method, parsed);
  });
  co_await w;
  co_return host_->take_json(w);
}

task<json::value> js_actor::call_named(std::string id_name, std::string method, json::array args) {
  co_await prepare(std::move(id_name));
  co_return co_await call(std::move(method), std::move(args));
}

task<std::string> js_actor::call_cloned(std::string method, std::string args, std::optional<std::string> id_name) {
  co_await prepare(std::move(id_name));
  settle_wait w(*host_);
  host_->start_event(*this, w, [&](v8::Local<v8::Context> ctx, v8::Local<v8::Object> self) -> v8::MaybeLocal<v8::Value> {
    v8::Local<v8::Value> in;
    if (!sd::clone_in(ctx, args).ToLocal(&in)) return {};
    return invoke(ctx, self, method, in);
  });
  co_await w;
  co_return host_->take_cloned(w);
}

task<http::response> js_actor::fetch_named(std::string id_name, http::request request) {
  co_await prepare(std::move(id_name));
  co_return co_await fetch(std::move(request));
}

task<http::response> js_actor::fetch(http::request request) {
  co_await prepare(std::nullopt);
  settle_wait w(*host_);
  upgrade_request_ = http::is_websocket_upgrade(request) ? &request : nullptr;  // the body is not needed for it
  sandbox::outbound_request req = detail::outbound_of(request);
  accepted_.reset();
  host_->start_event(*this, w, [&](v8::Local<v8::Context> ctx, v8::Local<v8::Object> self) -> v8::MaybeLocal<v8::Value> {
    v8::Isolate* iso = ctx->GetIsolate();
    v8::Local<v8::Value> f;
    if (!self->Get(ctx, v8_string(iso, "fetch")).ToLocal(&f)) return {};
    if (!f->IsFunction()) {
      iso->ThrowException(v8::Exception::TypeError(v8_string(iso, "the Durable Object class has no fetch() handler")));
      return {};
    }
    v8::Local<v8::Promise> p;
    if (!sd::natives::call_fetch_handler(ctx, self, f.As<v8::Function>(), v8::Object::New(iso), req)
             .ToLocal(&p))
      return {};
    return p;
  });
  // acceptWebSocket() belongs before the handler's first await (the request
  // is this event's only while its first slice runs).
  upgrade_request_ = nullptr;
  std::optional<http::response> accepted = std::move(accepted_);
  accepted_.reset();
  co_await w;
  http::response res = host_->take_response(w);
  if (accepted) {
    if (res.result_int() == 101) co_return std::move(*accepted);
    // Accepted but not handed over: the client never gets it.
    for (auto& ws : http::websockets(*this))
      if (!sockets_.count(ws.id())) ws.close(http::close_code::internal_error, "not returned by fetch");
  }
  co_return res;
}

task<void> js_actor::alarm(alarm_info info) {
  co_await prepare(std::nullopt);
  settle_wait w(*host_);
  host_->start_event(*this, w, [&](v8::Local<v8::Context> ctx, v8::Local<v8::Object> self) -> v8::MaybeLocal<v8::Value> {
    v8::Isolate* iso = ctx->GetIsolate();
    v8::Local<v8::Value> f;
    if (!self->Get(ctx, v8_string(iso, "alarm")).ToLocal(&f)) return {};
    if (!f->IsFunction()) {
      iso->ThrowException(v8::Exception::TypeError(v8_string(iso, "the Durable Object class has no alarm() handler")));
      return {};
    }
    v8::Local<v8::Name> names[] = {v8_string(iso, "retryCount"), v8_string(iso, "isRetry")};
    v8::Local<v8::Value> values[] = {v8::Number::New(iso, info.retry_count), v8::Boolean::New(iso, info.is_retry())};
    v8::Local<v8::Value> arg = v8::Object::New(iso, v8::Object::New(iso)->GetPrototype(), names, values, 2);
    return f.As<v8::Function>()->Call(ctx, self, 1, &arg);
  });
  co_await w;
  host_->take_void(w);
}

http::websocket* js_actor::socket(std::uint64_t id) {
  auto it = sockets_.find(id);
  if (it != sockets_.end()) return &it->second;
  for (auto& ws : http::websockets(*this))  // after hibernation, or accepted by an earlier instance
    if (ws.id() == id) return &(sockets_[id] = ws);
  return nullptr;
}

http::websocket js_actor::accept(std::vector<std::string> tags) {
  if (!upgrade_request_)
    throw std::logic_error(
        "acceptWebSocket() takes the socket of a WebSocket upgrade request, before the fetch handler's first await");
  if (accepted_) throw std::logic_error("acceptWebSocket(): this request's socket was accepted already");
  http::websocket_accept options;
  options.tags = std::move(tags);
  accepted_ = http::accept_websocket(*upgrade_request_, std::move(options));
  auto all = http::websockets(*this);
  http::websocket ws = all.back();  // the one just accepted is listed last
  remember(ws);
  return ws;
}

task<void> js_actor::websocket_message(http::websocket ws, http::ws_message m) {
  std::string data = std::move(m.data);
  const bool binary = m.binary;
  socket_args more = [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* iso = ctx->GetIsolate();
    if (!binary) return std::vector<v8::Local<v8::Value>>{v8_string(iso, data)};
    auto ab = v8::ArrayBuffer::New(iso, data.size());
    if (!data.empty()) std::memcpy(ab->Data(), data.data(), data.size());
    return std::vector<v8::Local<v8::Value>>{ab};
  };
  co_await prepare(std::nullopt);
  co_await socket_event(host_, *this, std::move(ws), "webSocketMessage", std::move(more));
}

task<void> js_actor::websocket_close(http::websocket ws, std::uint16_t code, std::string reason) {
  socket_args more = [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* iso = ctx->GetIsolate();
    return std::vector<v8::Local<v8::Value>>{v8::Integer::NewFromUnsigned(iso, code), v8_string(iso, reason),
                                             v8::Boolean::New(iso, code != 1006)};
  };
  co_await prepare(std::nullopt);
  co_await socket_event(host_, *this, std::move(ws), "webSocketClose", std::move(more));
}

task<void> js_actor::websocket_error(http::websocket ws, std::string what) {
  socket_args more = [&](v8::Local<v8::Context> ctx) {
    v8::Isolate* iso = ctx->GetIsolate();
    return std::vector<v8::Local<v8::Value>>{v8::Exception::Error(v8_string(iso, what))};
  };
  co_await prepare(std::nullopt);
  co_await socket_event(host_, *this, std::move(ws), "webSocketError", std::move(more));
}

}  // namespace cairn::js
