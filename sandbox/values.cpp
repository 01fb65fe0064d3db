#include <tuple>

#include "values.hpp"

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <vector>

#include <boost/json/serialize.hpp>

namespace cairn::sandbox::detail {
namespace json = boost::json;

std::string utf8(v8::Isolate* iso, v8::Local<v8::Value> v) {
  if (v.IsEmpty()) return {};
  if (!v->IsString()) {
    // Only primitives get here (callers check); ToString of a primitive runs no guest code.
    if (v->IsObject()) return "[object]";
    v8::Local<v8::String> s;
    if (!v->ToString(iso->GetCurrentContext()).ToLocal(&s)) return {};
    v = s;
  }
  auto s = v.As<v8::String>();
  std::string out(static_cast<std::size_t>(s->Utf8Length(iso)), '\0');
  s->WriteUtf8(iso, out.data(), static_cast<int>(out.size()), nullptr, v8::String::NO_NULL_TERMINATION);
  return out;
}

void freeze(v8::Local<v8::Context> ctx, v8::Local<v8::Object> o) {
  std::ignore = o->SetIntegrityLevel(ctx, v8::IntegrityLevel::kFrozen);
}

v8::Local<v8::Object> frozen_object(v8::Local<v8::Context> ctx, std::vector<v8::Local<v8::Name>>& names,
                                    std::vector<v8::Local<v8::Value>>& values) {
  v8::Isolate* iso = ctx->GetIsolate();
  auto o = v8::Object::New(iso, v8::Null(iso), names.data(), values.data(), names.size());
  freeze(ctx, o);
  return o;
}

v8::Local<v8::Value> to_guest(v8::Local<v8::Context> ctx, const json::value& v) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::EscapableHandleScope scope(iso);
  v8::Local<v8::Value> out;
  switch (v.kind()) {
    case json::kind::null: out = v8::Null(iso); break;
    case json::kind::bool_: out = v8::Boolean::New(iso, v.get_bool()); break;
    case json::kind::int64: out = v8::Number::New(iso, static_cast<double>(v.get_int64())); break;
    case json::kind::uint64: out = v8::Number::New(iso, static_cast<double>(v.get_uint64())); break;
    case json::kind::double_: out = v8::Number::New(iso, v.get_double()); break;
    case json::kind::string: out = v8_string(iso, v.get_string()); break;
    case json::kind::array: {
      const auto& a = v.get_array();
      std::vector<v8::Local<v8::Value>> items;
      items.reserve(a.size());
      for (const auto& e : a) items.push_back(to_guest(ctx, e));
      auto arr = v8::Array::New(iso, items.data(), items.size());
      freeze(ctx, arr);
      out = arr;
      break;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      std::vector<v8::Local<v8::Name>> names;
      std::vector<v8::Local<v8::Value>> values;
      names.reserve(o.size());
      values.reserve(o.size());
      for (const auto& kv : o) {
        names.push_back(v8_string(iso, kv.key()));
        values.push_back(to_guest(ctx, kv.value()));
      }
      out = frozen_object(ctx, names, values);
      break;
    }
  }
  return scope.Escape(out);
}

namespace {

// Own data property `key` of an ordinary (non-proxy) object; nullopt if it is
// an accessor. Reads the descriptor's own "value" only (the descriptor object
// inherits from the guest's Object.prototype).
bool own_data(v8::Local<v8::Context> ctx, v8::Local<v8::Object> o, v8::Local<v8::Name> key, v8::Local<v8::Value>& out,
              bool& accessor) {
  accessor = false;
  v8::Local<v8::Value> d;
  if (!o->GetOwnPropertyDescriptor(ctx, key).ToLocal(&d) || !d->IsObject()) return false;  // absent
  auto desc = d.As<v8::Object>();
  auto value_key = v8::String::NewFromUtf8Literal(ctx->GetIsolate(), "value");
  if (!desc->HasOwnProperty(ctx, value_key).FromMaybe(false)) {
    accessor = true;
    return false;
  }
  return desc->Get(ctx, value_key).ToLocal(&out);
}

std::string iso_date(double ms) {
  if (!std::isfinite(ms)) return "Invalid Date";
  const auto secs = static_cast<std::time_t>(std::floor(ms / 1000));
  const int millis = static_cast<int>(ms - static_cast<double>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // years run to 275760 and back to -271821
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

const char* kind_name(v8::Local<v8::Value> v) {
  if (v->IsBigInt()) return "a BigInt";
  if (v->IsSymbol()) return "a Symbol";
  if (v->IsFunction()) return "a function";
  if (v->IsMap()) return "a Map";
  if (v->IsSet()) return "a Set";
  if (v->IsPromise()) return "a Promise";
  if (v->IsRegExp()) return "a RegExp";
  if (v->IsArrayBuffer() || v->IsArrayBufferView() || v->IsSharedArrayBuffer()) return "binary data";
  if (v->IsNativeError()) return "an Error";
  if (v->IsWeakMap() || v->IsWeakSet()) return "a weak collection";
  return "a value of this kind";
}

struct copier {
  v8::Local<v8::Context> ctx;
  std::size_t max_bytes;
  copy_failure& why;
  std::size_t bytes = 0;

  bool fail(std::string w) {
    if (why.why.empty()) why.why = std::move(w);
    return false;
  }
  bool charge(std::size_t n) {
    bytes += n;
    if (bytes <= max_bytes) return true;
    why.too_large = true;
    return fail("the value is larger than " + std::to_string(max_bytes) + " bytes");
  }

  bool copy(v8::Local<v8::Value> v, json::value& out, int depth, const std::string& path) {
    v8::Isolate* iso = ctx->GetIsolate();
    if (depth > 128) return fail("the value nests deeper than 128 levels (a cycle?) at " + path);
    if (v->IsNull() || v->IsUndefined()) { out = nullptr; return charge(4); }
    if (v->IsBoolean()) { out = v->IsTrue(); return charge(5); }
    if (v->IsNumber()) {
      const double d = v.As<v8::Number>()->Value();
      if (!std::isfinite(d)) out = nullptr;
      else if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0) out = static_cast<std::int64_t>(d);
      else out = d;
      return charge(8);
    }
    if (v->IsString()) {
      auto s = v.As<v8::String>();
      if (!charge(static_cast<std::size_t>(s->Length()) + 2)) return false;
      out = utf8(iso, s);
      return true;
    }
    if (v->IsProxy()) return fail("a Proxy cannot be sent to the host (at " + path + ")");
    if (v->IsDate()) {
      out = iso_date(v.As<v8::Date>()->ValueOf());
      return charge(26);
    }
    if (v->IsArray()) {
      auto a = v.As<v8::Array>();
      const uint32_t n = a->Length();
      if (!charge(static_cast<std::size_t>(n) + 2)) return false;
      json::array arr;
      arr.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        v8::Local<v8::Value> e;
        bool accessor = false;
        const auto key = v8::Integer::NewFromUnsigned(iso, i)->ToString(ctx).ToLocalChecked();
        if (!own_data(ctx, a, key, e, accessor)) {
          if (accessor) return fail("the element " + path + "[" + std::to_string(i) + "] is an accessor");
          arr.emplace_back(nullptr);  // a hole
          continue;
        }
        json::value& slot = arr.emplace_back(nullptr);
        if (e->IsFunction() || e->IsSymbol() || e->IsUndefined()) continue;  // null, as JSON
        if (!copy(e, slot, depth + 1, path + "[" + std::to_string(i) + "]")) return false;
      }
      out = std::move(arr);
      return true;
    }
    if (v->IsObject() && !v->IsFunction() && !v->IsMap() && !v->IsSet() && !v->IsPromise() && !v->IsRegExp() &&
        !v->IsArrayBuffer() && !v->IsArrayBufferView() && !v->IsSharedArrayBuffer() && !v->IsNativeError() &&
        !v->IsWeakMap() && !v->IsWeakSet() && !v->IsSymbolObject() && !v->IsBigIntObject()) {
      auto o = v.As<v8::Object>();
      v8::Local<v8::Array> keys;
      if (!o->GetOwnPropertyNames(ctx, static_cast<v8::PropertyFilter>(v8::ONLY_ENUMERABLE | v8::SKIP_SYMBOLS),
                                  v8::KeyConversionMode::kConvertToString)
               .ToLocal(&keys))
        return fail("the keys of " + path + " cannot be read");
      json::object obj;
      obj.reserve(keys->Length());
      if (!charge(2)) return false;
      for (uint32_t i = 0; i < keys->Length(); ++i) {
        v8::Local<v8::Value> k;
        if (!keys->Get(ctx, i).ToLocal(&k) || !k->IsString()) continue;
        std::string name = utf8(iso, k);
        if (!charge(name.size() + 3)) return false;
        v8::Local<v8::Value> e;
        bool accessor = false;
        if (!own_data(ctx, o, k.As<v8::Name>(), e, accessor)) {
          if (accessor) return fail("the property " + path + "." + name + " is an accessor (getter or setter)");
          continue;
        }
        if (e->IsFunction() || e->IsSymbol() || e->IsUndefined()) continue;  // left out, as JSON
        json::value slot;
        if (!copy(e, slot, depth + 1, path + "." + name)) return false;
        obj.insert_or_assign(name, std::move(slot));
      }
      out = std::move(obj);
      return true;
    }
    return fail(std::string(kind_name(v)) + " cannot be sent to the host (at " + path + ")");
  }
};

}  // namespace

std::optional<json::value> from_guest(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, std::size_t max_bytes,
                                      copy_failure& why) {
  v8::HandleScope scope(ctx->GetIsolate());
  copier c{ctx, max_bytes, why};
  json::value out;
  if (!c.copy(v, out, 0, "value")) return std::nullopt;
  return out;
}

v8::MaybeLocal<v8::Value> data_property(v8::Local<v8::Context> ctx, v8::Local<v8::Object> o, std::string_view key) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::EscapableHandleScope scope(iso);
  auto k = v8_string(iso, key);
  v8::Local<v8::Value> cur = o;
  for (int hops = 0; hops < 64 && cur->IsObject() && !cur->IsProxy(); ++hops) {
    auto obj = cur.As<v8::Object>();
    v8::Local<v8::Value> value;
    bool accessor = false;
    if (own_data(ctx, obj, k, value, accessor)) return scope.Escape(value);
    if (accessor) return {};
    cur = obj->GetPrototype();
  }
  return {};
}

}  // namespace cairn::sandbox::detail

namespace cairn::sandbox::detail {

bool clone_out(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, std::string& out) {
  v8::ValueSerializer ser(ctx->GetIsolate());
  ser.WriteHeader();
  if (!ser.WriteValue(ctx, v).FromMaybe(false)) return false;
  auto [buf, size] = ser.Release();
  out.assign(reinterpret_cast<const char*>(buf), size);
  std::free(buf);
  return true;
}

v8::MaybeLocal<v8::Value> clone_in(v8::Local<v8::Context> ctx, std::string_view bytes) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::EscapableHandleScope scope(iso);
  v8::ValueDeserializer des(iso, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  v8::Local<v8::Value> out;
  if (!des.ReadHeader(ctx).FromMaybe(false) || !des.ReadValue(ctx).ToLocal(&out)) return {};
  return scope.Escape(out);
}

}  // namespace cairn::sandbox::detail
