#pragma once
// The natives behind a JS actor's ctx and env (storage, alarms, concurrency,
// ids and calls to other actors). Private to actors/js.
#include <v8.h>

namespace cairn::js::detail {

class class_host;

/// The object the glue's install() takes.
v8::Local<v8::Object> make_natives(class_host& host, v8::Local<v8::Context> ctx);
/// The class's env: a namespace object per binding and the JSON vars, frozen.
v8::Local<v8::Object> make_env(class_host& host, v8::Local<v8::Context> ctx, v8::Local<v8::Object> glue);

}  // namespace cairn::js::detail
