#pragma once
// The host functions behind the sandbox's globals and grants: console, env
// functions, fetch, crypto, structuredClone, queueMicrotask, the UTF-8 codec
// of TextEncoder/TextDecoder; and the bridge to the prelude's Request and
// Response for Worker-style fetch handlers. Private to sandbox/.
#include <string>

#include <v8.h>

#include <cairn/sandbox/fetch_policy.hpp>

namespace cairn::sandbox::detail {

class guest_scope;
class worker_instance;

struct natives {
  /// Builds the context's globals: console, queueMicrotask, structuredClone,
  /// crypto, and the prelude's globals (made on first use).
  static void install(guest_scope& w, v8::Local<v8::Context> ctx);
  /// The frozen `env` of a worker: its values and host functions.
  static v8::Local<v8::Object> make_env(worker_instance& w, v8::Local<v8::Context> ctx);
  /// Calls a Worker-style handler with a Request built from `req`; the promise
  /// resolves to {status, statusText, headers, body}.
  static v8::MaybeLocal<v8::Promise> call_fetch_handler(v8::Local<v8::Context> ctx, v8::Local<v8::Object> self,
                                                        v8::Local<v8::Function> handler, v8::Local<v8::Object> env,
                                                        const outbound_request& req);
  /// Copies what call_fetch_handler resolved to.
  static bool read_response(v8::Local<v8::Context> ctx, v8::Local<v8::Value> v, std::size_t max_bytes,
                            outbound_response& out, std::string& why);
  /// What the guest's fetch resolves to, before the prelude makes a Response of it.
  static v8::MaybeLocal<v8::Value> make_response_init(v8::Local<v8::Context> ctx, const outbound_response& r);

 private:
  using info = v8::FunctionCallbackInfo<v8::Value>;
  template <int Level>
  static void console_write(const info& args);
  static void env_call(const info& args);
  static void fetch(const info& args);
  static void queue_microtask(const info& args);
  static void structured_clone(const info& args);
  static void get_random_values(const info& args);
  static void random_uuid(const info& args);
  static void digest(const info& args);
  static void utf8_encode(const info& args);
  static void utf8_decode(const info& args);
  static void run_prelude(guest_scope& w, v8::Local<v8::Context> ctx);
  /// The prelude's helpers, running the prelude in this context first if it
  /// has not run yet. Throws std::runtime_error if it fails.
  static v8::Local<v8::Object> helpers(guest_scope& w, v8::Local<v8::Context> ctx);
  /// helpers() from inside guest code: a failure becomes a guest exception
  /// (empty result), since C++ exceptions must not cross V8 frames.
  static v8::MaybeLocal<v8::Object> helpers_in_guest(guest_scope& w, v8::Local<v8::Context> ctx);
  /// The getter of the prelude's lazy globals.
  static void lazy_global(v8::Local<v8::Name> name, const v8::PropertyCallbackInfo<v8::Value>& info);
};

}  // namespace cairn::sandbox::detail
