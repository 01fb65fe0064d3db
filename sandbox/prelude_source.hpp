#pragma once
// The bundled prelude's source as a V8 string. Private to sandbox/.
#include <v8.h>

namespace cairn::sandbox::detail {

/// An external string over the linked-in bundle: the 300 KB are not copied
/// into each isolate's heap (copying them was a fifth of a load's time).
v8::Local<v8::String> prelude_source(v8::Isolate* iso);

}  // namespace cairn::sandbox::detail
