#pragma once
// Values crossing the sandbox boundary, always by copy. Into the guest: JSON
// becomes frozen objects with null prototypes. Out of the guest: only own,
// enumerable data properties are read, so no getter, setter or proxy of the
// guest ever runs while the host copies. Private to sandbox/.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>
#include <v8.h>

namespace cairn::sandbox::detail {

/// `v` as a frozen guest value (objects with null prototypes).
v8::Local<v8::Value> to_guest(v8::Local<v8::Context> ctx, const boost::json::value& v);

inline v8::Local<v8::String> v8_string(v8::Isolate* iso, std::string_view s) {
  return v8::String::NewFromUtf8(iso, s.data(), v8::NewStringType::kNormal, static_cast<int>(s.size()))
      .ToLocalChecked();
}
std::string utf8(v8::Isolate* iso, v8::Local<v8::Value> v);

/// Why a value could not be copied out (set by from_guest on failure).
struct copy_failure {
  bool too_large = false;
  std::string why;
};

/// A JSON copy of a guest value: null, booleans, numbers, strings, arrays,
/// plain data objects, Dates (as ISO strings). `undefined` and functions are
/// left out of objects as JSON.stringify would. Anything else (a proxy, an
/// accessor, a BigInt, a Map, a cycle, more than `max_bytes`) fails.
std::optional<boost::json::value> from_guest(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, std::size_t max_bytes,
                                             copy_failure& why);

/// Property `key` of `o` or its prototypes if it is a data property; empty if
/// absent, an accessor, or behind a proxy. Never runs guest code.
v8::MaybeLocal<v8::Value> data_property(v8::Local<v8::Context> ctx, v8::Local<v8::Object> o, std::string_view key);

/// A frozen object with a null prototype: names[i] -> values[i].
v8::Local<v8::Object> frozen_object(v8::Local<v8::Context> ctx, std::vector<v8::Local<v8::Name>>& names,
                                    std::vector<v8::Local<v8::Value>>& values);

/// Freezes `o` (no guest code runs: `o` is ours).
void freeze(v8::Local<v8::Context> ctx, v8::Local<v8::Object> o);

}  // namespace cairn::sandbox::detail

namespace cairn::sandbox::detail {

/// `v` by structured clone (V8's serialization format) into `out`; false with
/// a DataCloneError pending in the isolate if it cannot be cloned.
bool clone_out(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, std::string& out);
/// The value `bytes` (from clone_out) in `ctx`; empty with an exception pending.
v8::MaybeLocal<v8::Value> clone_in(v8::Local<v8::Context> ctx, std::string_view bytes);

}  // namespace cairn::sandbox::detail
