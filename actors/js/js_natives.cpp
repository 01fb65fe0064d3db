#include <tuple>

#include "js_natives.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include <boost/json/serialize.hpp>

#include <cairn/actor_namespace.hpp>
#include <cairn/detail/output_gate_passed.hpp>
#include <cairn/errors.hpp>
#include <cairn/http/websocket.hpp>
#include <cairn/storage.hpp>

#include "class_host.hpp"
#include "sandbox/values.hpp"

namespace cairn::js::detail {
namespace json = boost::json;
namespace sd = cairn::sandbox::detail;
using sd::v8_string;
using info = v8::FunctionCallbackInfo<v8::Value>;

namespace {

class_host& host_of(const info& args) { return *static_cast<class_host*>(args.Data().As<v8::External>()->Value()); }

// What a native of an actor's ctx starts from: `auto [h, iso, ctx, a] = site(args);`
// (a is the actor of the handle in args[0], or nullptr with a JS error thrown).
struct call_site {
  class_host& host;
  v8::Isolate* iso;
  v8::Local<v8::Context> ctx;
  js_actor* actor;
};
call_site site(const info& args) {
  class_host& h = host_of(args);
  v8::Isolate* iso = args.GetIsolate();
  return {h, iso, iso->GetCurrentContext(), h.actor_arg(args[0])};
}

void throw_error(v8::Isolate* iso, const std::string& m) { iso->ThrowException(v8::Exception::Error(v8_string(iso, m))); }
void throw_type_error(v8::Isolate* iso, const std::string& m) {
  iso->ThrowException(v8::Exception::TypeError(v8_string(iso, m)));
}

// Runs `f` (C++ that may throw) and turns its exception into a JS Error.
template <class F>
void guarded(v8::Isolate* iso, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    throw_error(iso, e.what());
  }
}

bool read_keys(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, std::vector<std::string>& out) {
  v8::Isolate* iso = ctx->GetIsolate();
  if (!v->IsArray()) return throw_type_error(iso, "keys must be an array of strings"), false;
  auto a = v.As<v8::Array>();
  out.reserve(a->Length());
  for (uint32_t i = 0; i < a->Length(); ++i) {
    v8::Local<v8::Value> k;
    if (!a->Get(ctx, i).ToLocal(&k)) return false;
    out.push_back(sd::utf8(iso, k));
  }
  return true;
}

// ---- values ------------------------------------------------------------------------

v8::MaybeLocal<v8::Value> value_in(v8::Local<v8::Context> ctx, const kv_value& v) {
  if (v.is_bytes()) {
    const blob& b = v.bytes();
    return sd::clone_in(ctx, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
  }
  return v8::JSON::Parse(ctx, v8_string(ctx->GetIsolate(), json::serialize(v.json())));
}

bool value_out(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, kv_value& out) {
  std::string bytes;
  if (!sd::clone_out(ctx, v, bytes)) return false;  // DataCloneError pending
  out = kv_value(blob(bytes.begin(), bytes.end()));
  return true;
}

v8::Local<v8::Array> entries(v8::Local<v8::Context> ctx, const std::vector<std::pair<std::string, kv_value>>& kvs,
                             bool& ok) {
  v8::Isolate* iso = ctx->GetIsolate();
  std::vector<v8::Local<v8::Value>> items;
  items.reserve(kvs.size());
  ok = true;
  for (const auto& [k, v] : kvs) {
    v8::Local<v8::Value> value;
    if (!value_in(ctx, v).ToLocal(&value)) return ok = false, v8::Array::New(iso);
    v8::Local<v8::Value> pair[] = {v8_string(iso, k), value};
    items.push_back(v8::Array::New(iso, pair, 2));
  }
  return v8::Array::New(iso, items.data(), items.size());
}

// ---- key-value -----------------------------------------------------------------------

void kv_get(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  guarded(iso, [&] {
    auto v = a->storage().get(sd::utf8(iso, args[1]));
    v8::Local<v8::Value> out;
    if (v && value_in(ctx, *v).ToLocal(&out)) args.GetReturnValue().Set(out);
  });
}

void kv_get_many(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  std::vector<std::string> keys;
  if (!a || !read_keys(ctx, args[1], keys)) return;
  guarded(iso, [&] {
    auto found = a->storage().get(std::span<const std::string>(keys));
    std::vector<std::pair<std::string, kv_value>> kvs(std::make_move_iterator(found.begin()),
                                                      std::make_move_iterator(found.end()));
    bool ok = true;
    auto out = entries(ctx, kvs, ok);
    if (ok) args.GetReturnValue().Set(out);
  });
}

void kv_put(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  std::vector<std::string> keys;
  if (!a || !read_keys(ctx, args[1], keys) || !args[2]->IsArray()) return;
  auto values = args[2].As<v8::Array>();
  if (keys.size() > storage_limits::max_batch)
    return throw_type_error(iso, "put() takes at most " + std::to_string(storage_limits::max_batch) + " entries, not " +
                                     std::to_string(keys.size()));
  std::vector<std::pair<std::string, kv_value>> batch;
  batch.reserve(keys.size());
  for (uint32_t i = 0; i < keys.size(); ++i) {
    v8::Local<v8::Value> v;
    if (!values->Get(ctx, i).ToLocal(&v)) return;
    if (v->IsUndefined()) return throw_type_error(iso, "put(): the value of '" + keys[i] + "' is undefined");
    kv_value out;
    if (!value_out(ctx, v, out)) return;
    batch.emplace_back(std::move(keys[i]), std::move(out));
  }
  h.touched(*a);
  guarded(iso, [&] {
    if (batch.size() == 1)
      a->storage().put(batch[0].first, batch[0].second);
    else
      a->storage().put(std::span<const std::pair<std::string, kv_value>>(batch));
  });
}

void kv_delete(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  std::vector<std::string> keys;
  if (!a || !read_keys(ctx, args[1], keys)) return;
  h.touched(*a);
  guarded(iso, [&] {
    const std::size_t n = keys.size() == 1 ? (a->storage().remove(keys[0]) ? 1 : 0)
                                           : a->storage().remove(std::span<const std::string>(keys));
    args.GetReturnValue().Set(v8::Number::New(iso, static_cast<double>(n)));
  });
}

void kv_list(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  list_options o;
  if (args[1]->IsObject()) {
    auto opts = args[1].As<v8::Object>();
    auto text = [&](const char* name, std::optional<std::string>& out) {
      v8::Local<v8::Value> v;
      if (sd::data_property(ctx, opts, name).ToLocal(&v) && !v->IsUndefined()) out = sd::utf8(iso, v);
    };
    std::optional<std::string> prefix;
    text("start", o.start);
    text("startAfter", o.start_after);
    text("end", o.end);
    text("prefix", prefix);
    if (prefix) o.prefix = *prefix;
    if (o.start && o.start_after) return throw_type_error(iso, "list(): start and startAfter cannot both be given");
    v8::Local<v8::Value> v;
    if (sd::data_property(ctx, opts, "reverse").ToLocal(&v)) o.reverse = v->BooleanValue(iso);
    if (sd::data_property(ctx, opts, "limit").ToLocal(&v) && !v->IsUndefined()) {
      const double n = v->IsNumber() ? v.As<v8::Number>()->Value() : -1;
      if (!(n >= 1) || n != std::floor(n)) return throw_type_error(iso, "list(): limit must be a positive integer");
      o.limit = static_cast<std::size_t>(n);
    }
  }
  guarded(iso, [&] {
    auto kvs = a->storage().list(o);
    bool ok = true;
    auto out = entries(ctx, kvs, ok);
    if (ok) args.GetReturnValue().Set(out);
  });
}

void kv_delete_all(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  h.touched(*a);
  guarded(args.GetIsolate(), [&] { a->storage().delete_all(); });
}

// ---- SQL ----------------------------------------------------------------------------

bool sql_in(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, sql_value& out, std::size_t pos) {
  v8::Isolate* iso = ctx->GetIsolate();
  if (v->IsNull() || v->IsUndefined()) {
    out = nullptr;
  } else if (v->IsBoolean()) {
    out = std::int64_t(v->BooleanValue(iso) ? 1 : 0);
  } else if (v->IsNumber()) {
    const double d = v.As<v8::Number>()->Value();
    if (d == std::floor(d) && std::fabs(d) <= 9007199254740991.0)
      out = static_cast<std::int64_t>(d);
    else
      out = d;
  } else if (v->IsBigInt()) {
    bool lossless = true;
    out = v.As<v8::BigInt>()->Int64Value(&lossless);
    if (!lossless) return throw_type_error(iso, "binding " + std::to_string(pos) + ": the BigInt does not fit 64 bits"), false;
  } else if (v->IsString()) {
    out = sd::utf8(iso, v);
  } else if (v->IsArrayBuffer() || v->IsArrayBufferView()) {
    const unsigned char* data = nullptr;
    std::size_t size = 0;
    if (v->IsArrayBuffer()) {
      data = static_cast<const unsigned char*>(v.As<v8::ArrayBuffer>()->Data());
      size = v.As<v8::ArrayBuffer>()->ByteLength();
    } else {
      auto view = v.As<v8::ArrayBufferView>();
      data = static_cast<const unsigned char*>(view->Buffer()->Data()) + view->ByteOffset();
      size = view->ByteLength();
    }
    out = blob(data, data + size);
  } else {
    return throw_type_error(iso, "binding " + std::to_string(pos) +
                                     " is not a string, number, boolean, null, BigInt or ArrayBuffer"),
           false;
  }
  return true;
}

v8::Local<v8::Value> sql_out(v8::Isolate* iso, const sql_value& v) {
  switch (v.index()) {
    case 0: return v8::Null(iso);
    case 1: return v8::Number::New(iso, static_cast<double>(std::get<1>(v)));
    case 2: return v8::Number::New(iso, std::get<2>(v));
    case 3: return v8_string(iso, std::get<3>(v));
    default: {
      const blob& b = std::get<4>(v);
      auto ab = v8::ArrayBuffer::New(iso, b.size());
      if (!b.empty()) std::memcpy(ab->Data(), b.data(), b.size());
      return ab;
    }
  }
}

void sql_exec(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a || !args[2]->IsArray()) return;
  auto in = args[2].As<v8::Array>();
  std::vector<sql_value> params(in->Length());
  for (uint32_t i = 0; i < in->Length(); ++i) {
    v8::Local<v8::Value> v;
    if (!in->Get(ctx, i).ToLocal(&v) || !sql_in(ctx, v, params[i], i + 1)) return;
  }
  const std::string query = sd::utf8(iso, args[1]);
  h.touched(*a);
  guarded(iso, [&] {
    sql_cursor c = a->storage().exec_values(query, params);
    std::vector<v8::Local<v8::Value>> cols, rows;
    for (const auto& n : c.column_names()) cols.push_back(v8_string(iso, n));
    rows.reserve(c.size());
    std::vector<v8::Local<v8::Value>> cells;
    for (const auto& row : c) {
      cells.clear();
      for (const auto& cell : row) cells.push_back(sql_out(iso, cell));
      rows.push_back(v8::Array::New(iso, cells.data(), cells.size()));
    }
    v8::Local<v8::Name> names[] = {v8_string(iso, "columns"), v8_string(iso, "rows"), v8_string(iso, "rowsRead"),
                                   v8_string(iso, "rowsWritten")};
    v8::Local<v8::Value> values[] = {v8::Array::New(iso, cols.data(), cols.size()),
                                     v8::Array::New(iso, rows.data(), rows.size()),
                                     v8::Number::New(iso, static_cast<double>(c.rows_read())),
                                     v8::Number::New(iso, static_cast<double>(c.rows_written()))};
    args.GetReturnValue().Set(v8::Object::New(iso, v8::Null(iso), names, values, 4));
  });
}

void database_size(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  guarded(args.GetIsolate(), [&] {
    args.GetReturnValue().Set(v8::Number::New(args.GetIsolate(), static_cast<double>(a->storage().database_size())));
  });
}

struct js_threw {};

void transaction_sync(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  if (!args[1]->IsFunction()) return throw_type_error(iso, "transactionSync() takes a function");
  auto fn = args[1].As<v8::Function>();
  h.touched(*a);
  v8::Local<v8::Value> result;
  try {
    a->storage().transaction([&] {
      // A throw leaves its exception pending for the caller; the C++
      // exception only unwinds the transaction (it never crosses V8 frames).
      if (!fn->Call(ctx, v8::Undefined(iso), 0, nullptr).ToLocal(&result)) throw js_threw{};
    });
  } catch (const js_threw&) {
    return;
  } catch (const std::exception& e) {
    return throw_error(iso, e.what());
  }
  args.GetReturnValue().Set(result);
}

// storage.transaction(fn)'s nested transaction: txnBegin(h) -> id,
// txnOpen(h, id), txnEnd(h, id, commit) -> whether it was still open.
void txn_begin(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  h.touched(*a);
  guarded(iso, [&] { args.GetReturnValue().Set(v8::Number::New(iso, static_cast<double>(a->begin_transaction()))); });
}

std::uint64_t txn_id(const info& args) {
  return args[1]->IsNumber() ? static_cast<std::uint64_t>(args[1].As<v8::Number>()->Value()) : 0;
}

void txn_open(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  args.GetReturnValue().Set(a->transaction_open(txn_id(args)));
}

void txn_end(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  const bool commit = args[2]->BooleanValue(iso);
  guarded(iso, [&] { args.GetReturnValue().Set(a->end_transaction(txn_id(args), commit)); });
}

// storage.sync(): settled once the writes the actor made so far are durable.
// Already settled when none waits (nothing written, or durable already);
// else an operation that starts after the slice (whose end ends the writes'
// segment), as the actor, so the output gate holds it until their commit's
// group sync returns; rejected if that commit or sync failed.
void storage_sync(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  if (cairn::detail::output_gate_now() != cairn::detail::gate_state::held) {
    auto resolver = v8::Promise::Resolver::New(ctx).ToLocalChecked();
    std::ignore = resolver->Resolve(ctx, v8::Undefined(iso));
    return args.GetReturnValue().Set(resolver->GetPromise());
  }
  args.GetReturnValue().Set(h.begin_op(ctx, a, []() -> task<op_outcome> {
    if (!co_await cairn::detail::output_gate_passed())
      throw storage_error(storage_error::reason::commit_failed,
                          "storage.sync(): the writes could not be made durable; the actor restarts from its last commit");
    op_outcome out;
    out.what = op_outcome::kind::json;  // null
    co_return out;
  }));
}

// ---- alarm --------------------------------------------------------------------------

void get_alarm(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  guarded(args.GetIsolate(), [&] {
    auto t = a->storage().get_alarm();
    if (!t) return args.GetReturnValue().SetNull();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
    args.GetReturnValue().Set(v8::Number::New(args.GetIsolate(), static_cast<double>(ms)));
  });
}

void set_alarm(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  const double ms = args[1]->IsNumber() ? args[1].As<v8::Number>()->Value() : NAN;
  if (!std::isfinite(ms)) return throw_type_error(args.GetIsolate(), "setAlarm() takes a time in milliseconds");
  h.touched(*a);
  guarded(args.GetIsolate(), [&] {
    a->storage().set_alarm(std::chrono::system_clock::time_point(std::chrono::milliseconds(static_cast<std::int64_t>(ms))));
  });
}

void delete_alarm(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  h.touched(*a);
  guarded(args.GetIsolate(), [&] { a->storage().delete_alarm(); });
}

// ---- concurrency --------------------------------------------------------------------

void block(const info& args) {
  auto& h = host_of(args);
  if (js_actor* a = h.actor_arg(args[0])) a->hold_events();
}

void abort_object(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  const std::string reason = args[1]->IsUndefined() ? "" : sd::utf8(iso, args[1]);
  h.abort(a->handle(), reason.empty() ? "the Durable Object called ctx.abort(); it was reset"
                                      : reason + " (ctx.abort(); the Durable Object was reset)");
}

void unblock(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  a->release_events();
  if (args[1]->BooleanValue(args.GetIsolate())) h.reset_later(a->handle());
}

// ---- WebSockets --------------------------------------------------------------------

http::websocket* socket_arg(const info& args, js_actor*& a) {
  auto& h = host_of(args);
  a = h.actor_arg(args[0]);
  if (!a) return nullptr;
  const double id = args[1]->IsNumber() ? args[1].As<v8::Number>()->Value() : 0;
  http::websocket* ws = id > 0 ? a->socket(static_cast<std::uint64_t>(id)) : nullptr;
  if (!ws) throw_type_error(args.GetIsolate(), "this WebSocket is not one of this Durable Object's");
  return ws;
}

void ws_accept(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  std::vector<std::string> tags;
  if (!a || !read_keys(ctx, args[1], tags)) return;
  guarded(iso, [&] {
    auto ws = a->accept(std::move(tags));
    args.GetReturnValue().Set(v8::Number::New(iso, static_cast<double>(ws.id())));
  });
}

void ws_list(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  const std::string tag = sd::utf8(iso, args[1]);
  std::vector<v8::Local<v8::Value>> ids;
  for (auto& ws : http::websockets(*a, tag)) {
    a->remember(ws);
    ids.push_back(v8::Number::New(iso, static_cast<double>(ws.id())));
  }
  args.GetReturnValue().Set(v8::Array::New(iso, ids.data(), ids.size()));
}

void ws_open(const info& args) {
  js_actor* a = nullptr;
  http::websocket* ws = socket_arg(args, a);
  if (ws) args.GetReturnValue().Set(ws->open());
}

void ws_send(const info& args) {
  js_actor* a = nullptr;
  http::websocket* ws = socket_arg(args, a);
  if (!ws) return;
  v8::Isolate* iso = args.GetIsolate();
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  if (args[2]->IsString()) {
    ws->send(sd::utf8(iso, args[2]));
    return;
  }
  if (args[2]->IsArrayBuffer()) {
    data = static_cast<const unsigned char*>(args[2].As<v8::ArrayBuffer>()->Data());
    size = args[2].As<v8::ArrayBuffer>()->ByteLength();
  } else if (args[2]->IsArrayBufferView()) {
    auto view = args[2].As<v8::ArrayBufferView>();
    data = static_cast<const unsigned char*>(view->Buffer()->Data()) + view->ByteOffset();
    size = view->ByteLength();
  } else {
    return throw_type_error(iso, "send() takes a string, an ArrayBuffer or a typed array");
  }
  ws->send(std::string(reinterpret_cast<const char*>(data), size), true);
}

void ws_close(const info& args) {
  js_actor* a = nullptr;
  http::websocket* ws = socket_arg(args, a);
  if (!ws) return;
  v8::Isolate* iso = args.GetIsolate();
  const double code = args[2]->IsNumber() ? args[2].As<v8::Number>()->Value() : 1000;
  if (!(code == 1000 || (code >= 3000 && code <= 4999)))
    return throw_type_error(iso, "close(): the code must be 1000 or in 3000-4999");
  const std::string reason = sd::utf8(iso, args[3]);
  if (reason.size() > 123) return throw_type_error(iso, "close(): the reason is longer than 123 bytes");
  ws->close(static_cast<std::uint16_t>(code), reason);
}

void ws_tags(const info& args) {
  js_actor* a = nullptr;
  http::websocket* ws = socket_arg(args, a);
  if (!ws) return;
  v8::Isolate* iso = args.GetIsolate();
  std::vector<v8::Local<v8::Value>> tags;
  for (const auto& t : ws->tags()) tags.push_back(v8_string(iso, t));
  args.GetReturnValue().Set(v8::Array::New(iso, tags.data(), tags.size()));
}

void ws_set_attachment(const info& args) {
  js_actor* a = nullptr;
  http::websocket* ws = socket_arg(args, a);
  if (!ws) return;
  v8::Isolate* iso = args.GetIsolate();
  std::string bytes;
  if (!args[2]->IsNull() && !args[2]->IsUndefined() && !sd::clone_out(iso->GetCurrentContext(), args[2], bytes)) return;
  if (bytes.size() > http::max_websocket_attachment_bytes)
    return throw_type_error(iso, "serializeAttachment(): the value takes " + std::to_string(bytes.size()) +
                                     " bytes serialized; the limit is " +
                                     std::to_string(http::max_websocket_attachment_bytes));
  guarded(iso, [&] { ws->serialize_attachment(std::move(bytes)); });
}

void ws_get_attachment(const info& args) {
  js_actor* a = nullptr;
  http::websocket* ws = socket_arg(args, a);
  if (!ws) return;
  const std::string bytes = ws->attachment();
  if (bytes.empty()) return args.GetReturnValue().SetNull();
  v8::Local<v8::Value> v;
  if (sd::clone_in(args.GetIsolate()->GetCurrentContext(), bytes).ToLocal(&v)) args.GetReturnValue().Set(v);
}

void ws_auto_response(const info& args) {
  auto [h, iso, ctx, a] = site(args);
  if (!a) return;
  guarded(iso, [&] { http::set_websocket_auto_response(*a, sd::utf8(iso, args[1]), sd::utf8(iso, args[2])); });
}

// ---- ids and calls to other actors --------------------------------------------------------

const bound_namespace* bound_arg(class_host& h, v8::Local<v8::Value> v) {
  auto& bound = h.registry().bound;
  const double i = v->IsNumber() ? v.As<v8::Number>()->Value() : -1;
  if (i < 0 || i >= static_cast<double>(bound.size())) return nullptr;
  return &bound[static_cast<std::size_t>(i)];
}

void id_from_name(const info& args) {
  auto& h = host_of(args);
  const bound_namespace* b = bound_arg(h, args[0]);
  if (!b) return;
  v8::Isolate* iso = args.GetIsolate();
  guarded(iso, [&] {
    args.GetReturnValue().Set(v8_string(iso, cairn::detail::id_from_name(*b->ns, sd::utf8(iso, args[1])).to_string()));
  });
}

void new_unique_id(const info& args) {
  auto& h = host_of(args);
  const bound_namespace* b = bound_arg(h, args[0]);
  if (!b) return;
  guarded(args.GetIsolate(), [&] {
    args.GetReturnValue().Set(v8_string(args.GetIsolate(), cairn::detail::new_unique_id(*b->ns).to_string()));
  });
}

// The id `hex` names in `b`'s namespace, or a TypeError (a foreign or malformed id).
bool id_arg(v8::Isolate* iso, const bound_namespace& b, v8::Local<v8::Value> hex, actor_id& out) {
  try {
    out = cairn::detail::id_from_string(*b.ns, sd::utf8(iso, hex));
    return true;
  } catch (const std::exception& e) {
    throw_type_error(iso, e.what());
    return false;
  }
}

// The name of the id a stub was made with (a string), or none.
std::optional<std::string> name_arg(v8::Isolate* iso, v8::Local<v8::Value> v) {
  if (!v->IsString()) return std::nullopt;
  return sd::utf8(iso, v);
}

void id_from_string(const info& args) {
  auto& h = host_of(args);
  const bound_namespace* b = bound_arg(h, args[0]);
  if (!b) return;
  v8::Isolate* iso = args.GetIsolate();
  actor_id id;
  if (id_arg(iso, *b, args[1], id)) args.GetReturnValue().Set(v8_string(iso, id.to_string()));
}

task<op_outcome> call_js(actor_ref<js_actor> ref, std::string method, std::string args,
                         std::optional<std::string> name) {
  op_outcome out;
  out.bytes = co_await ref.call(&js_actor::call_cloned, std::move(method), std::move(args), std::move(name));
  out.what = op_outcome::kind::cloned;
  co_return out;
}

task<op_outcome> call_native(registry::native_call call, actor_id id, std::string method, json::array args) {
  op_outcome out;
  out.json = co_await call(id, std::move(method), std::move(args));
  out.what = op_outcome::kind::json;
  co_return out;
}

task<op_outcome> fetch_js(actor_ref<js_actor> ref, http::request req, std::optional<std::string> name) {
  op_outcome out;
  // Not ?: around the co_awaits: built by GCC 12, that aborted with a double free.
  if (name) out.response = co_await ref.call(&js_actor::fetch_named, std::move(*name), std::move(req));
  else out.response = co_await ref.call(&js_actor::fetch, std::move(req));
  if (out.response.websocket_upgrade())  // the socket's events go to the actor that accepted it
    http::detail::bind_websocket_target(out.response, http::detail::websocket_target_for(ref));
  out.what = op_outcome::kind::response;
  co_return out;
}

void call(const info& args) {
  auto& h = host_of(args);
  v8::Isolate* iso = args.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  bool ok = false;
  js_actor* a = h.current(ok);
  const bound_namespace* b = bound_arg(h, args[0]);
  if (!ok || !b) return;
  actor_id id;
  if (!id_arg(iso, *b, args[1], id)) return;
  std::string method = sd::utf8(iso, args[2]);
  std::function<task<op_outcome>()> op;
  if (b->js) {
    std::string bytes;
    if (!sd::clone_out(ctx, args[3], bytes)) return;  // DataCloneError pending
    actor_ref<js_actor> ref(id);
    op = [ref, method, bytes = std::move(bytes), name = name_arg(iso, args[4])] {
      return call_js(ref, method, bytes, name);
    };
  } else {
    sd::copy_failure why;
    auto in = sd::from_guest(ctx, args[3], 16u << 20, why);
    if (!in || !in->is_array())
      return throw_type_error(iso, "the arguments of " + method + "() cannot cross to a native actor as JSON: " + why.why);
    op = [call = b->native, id, method, in = std::move(in->as_array())] { return call_native(call, id, method, in); };
  }
  args.GetReturnValue().Set(h.begin_op(ctx, a, std::move(op)));
}

void fetch(const info& args) {
  auto& h = host_of(args);
  v8::Isolate* iso = args.GetIsolate();
  auto ctx = iso->GetCurrentContext();
  bool ok = false;
  js_actor* a = h.current(ok);
  const bound_namespace* b = bound_arg(h, args[0]);
  if (!ok || !b) return;
  if (!b->js) return throw_type_error(iso, "fetch() through a stub reaches JS actors only; call the native actor's methods");
  actor_id id;
  if (!id_arg(iso, *b, args[1], id)) return;
  http::request req;
  req.method_string(sd::utf8(iso, args[3]));
  req.target(sd::utf8(iso, args[2]));
  sd::copy_failure why;
  auto headers = sd::from_guest(ctx, args[4], 1u << 20, why);
  if (headers && headers->is_array())
    for (const auto& kv : headers->as_array())
      if (kv.is_array() && kv.as_array().size() == 2 && kv.as_array()[0].is_string() && kv.as_array()[1].is_string())
        req.insert(std::string(kv.as_array()[0].as_string()), std::string(kv.as_array()[1].as_string()));
  if (args[5]->IsArrayBuffer()) {
    auto ab = args[5].As<v8::ArrayBuffer>();
    req.body().assign(static_cast<const char*>(ab->Data()), ab->ByteLength());
  }
  req.prepare_payload();
  args.GetReturnValue().Set(h.begin_op(ctx, a, [ref = actor_ref<js_actor>(id), req = std::move(req),
                                                name = name_arg(iso, args[6])] { return fetch_js(ref, req, name); }));
}

void settled(const info& args) {
  if (args[0]->IsNumber()) host_of(args).settled(args[0].As<v8::Number>()->Value(), args[1]);
}

v8::Local<v8::Function> function(v8::Local<v8::Context> ctx, v8::FunctionCallback cb, v8::Local<v8::Value> data,
                                 const char* name) {
  auto f = v8::Function::New(ctx, cb, data, 0, v8::ConstructorBehavior::kThrow).ToLocalChecked();
  f->SetName(v8_string(ctx->GetIsolate(), name));
  return f;
}

}  // namespace

v8::Local<v8::Object> make_natives(class_host& host, v8::Local<v8::Context> ctx) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::EscapableHandleScope scope(iso);
  auto data = v8::External::New(iso, &host);
  std::vector<v8::Local<v8::Name>> names;
  std::vector<v8::Local<v8::Value>> values;
  auto add = [&](const char* name, v8::FunctionCallback cb) {
    names.push_back(v8_string(iso, name));
    values.push_back(function(ctx, cb, data, name));
  };
  add("kvGet", &kv_get);
  add("kvGetMany", &kv_get_many);
  add("kvPut", &kv_put);
  add("kvDelete", &kv_delete);
  add("kvList", &kv_list);
  add("kvDeleteAll", &kv_delete_all);
  add("sqlExec", &sql_exec);
  add("databaseSize", &database_size);
  add("transactionSync", &transaction_sync);
  add("txnBegin", &txn_begin);
  add("txnOpen", &txn_open);
  add("txnEnd", &txn_end);
  add("storageSync", &storage_sync);
  add("getAlarm", &get_alarm);
  add("setAlarm", &set_alarm);
  add("deleteAlarm", &delete_alarm);
  add("block", &block);
  add("unblock", &unblock);
  add("abort", &abort_object);
  add("wsAccept", &ws_accept);
  add("wsList", &ws_list);
  add("wsOpen", &ws_open);
  add("wsSend", &ws_send);
  add("wsClose", &ws_close);
  add("wsTags", &ws_tags);
  add("wsSetAttachment", &ws_set_attachment);
  add("wsGetAttachment", &ws_get_attachment);
  add("wsAutoResponse", &ws_auto_response);
  add("idFromName", &id_from_name);
  add("newUniqueId", &new_unique_id);
  add("idFromString", &id_from_string);
  add("call", &call);
  add("fetch", &fetch);
  add("settled", &settled);
  return scope.Escape(sd::frozen_object(ctx, names, values));
}

v8::Local<v8::Object> make_env(class_host& host, v8::Local<v8::Context> ctx, v8::Local<v8::Object> glue) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::EscapableHandleScope scope(iso);
  auto env = v8::Object::New(iso);
  v8::Local<v8::Value> make_ns;
  std::ignore = glue->Get(ctx, v8_string(iso, "namespace")).ToLocal(&make_ns);
  auto& reg = host.registry();
  for (const auto& [name, target] : host.entry().cls.bindings) {
    auto it = reg.bound_by_name.find(target);
    if (it == reg.bound_by_name.end()) continue;  // checked at registry::add
    v8::Local<v8::Value> arg = v8::Number::New(iso, static_cast<double>(it->second));
    v8::Local<v8::Value> ns;
    if (make_ns.As<v8::Function>()->Call(ctx, v8::Undefined(iso), 1, &arg).ToLocal(&ns))
      std::ignore = env->Set(ctx, v8_string(iso, name), ns);
  }
  for (const auto& kv : host.entry().cls.vars) {
    v8::Local<v8::Value> v;
    if (v8::JSON::Parse(ctx, v8_string(iso, json::serialize(kv.value()))).ToLocal(&v))
      std::ignore = env->Set(ctx, v8_string(iso, kv.key()), v);
  }
  sd::freeze(ctx, env);
  return scope.Escape(env);
}

}  // namespace cairn::js::detail
