#pragma once
/// `cairn::js::js_class`: a JavaScript class that backs a namespace of actors,
/// written against Cloudflare's Durable Objects API:
///
///   import { DurableObject } from "cloudflare:workers";
///   export class Counter extends DurableObject {
///     async increment(n = 1) {
///       const v = ((await this.ctx.storage.get("value")) ?? 0) + n;
///       await this.ctx.storage.put("value", v);
///       return v;
///     }
///   }
///
/// Each actor is an instance of the class, constructed with (ctx, env) when it
/// is first used (and again after hibernation or a reset).
#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include <boost/json/object.hpp>

#include <cairn/sandbox/fetch_policy.hpp>

namespace cairn::js {

struct js_limits {
  /// CPU time of one stretch of an event's JavaScript (from an entry into the
  /// class's code until its microtasks have drained). Past it the event fails
  /// and the actor is reset.
  std::chrono::milliseconds cpu_per_slice{30'000};
  /// CPU time of all the slices of one event (its first, and each one that
  /// resumes it after an await on another actor or a fetch). Past it the
  /// event fails and the actor is reset. 0: no limit.
  std::chrono::milliseconds cpu_per_event{30'000};
  /// Wall time of one event (RPC, fetch, alarm, socket message) from its
  /// start until its promise settles; past it the event fails and the actor
  /// is reset (a handler that never settles ends here). 0: no limit.
  std::chrono::milliseconds wall_per_event{60'000};
  /// Heap of the class's isolate on one shard.
  std::size_t heap_bytes = 256u << 20;
  /// ArrayBuffer bytes of that isolate.
  std::size_t array_buffer_bytes = 256u << 20;
};

/// What the class's global fetch may reach: nothing by default.
struct js_fetch_grant {
  /// sandbox::fetch_policy::allow({"https://api.example.com/"}) for URL
  /// prefixes, or a handler that performs every request itself.
  sandbox::fetch_policy policy;
  /// Requests per fetch() call, redirect hops included.
  unsigned max_requests = 20;
  /// Bytes of a response body.
  std::size_t max_body_bytes = 16u << 20;
};

struct js_class {
  /// Module name -> ES module source; imports resolve among these and
  /// "cloudflare:workers".
  std::map<std::string, std::string> modules;
  /// The module that exports the class.
  std::string main;
  /// The exported class's name.
  std::string class_name;
  /// env.NAME -> the namespace it is bound to (a JS namespace, or a native one
  /// offered with registry::offer).
  std::map<std::string, std::string> bindings;
  /// env.NAME -> a JSON value (plain data).
  boost::json::object vars;
  js_limits limits;
  js_fetch_grant fetch;
};

}  // namespace cairn::js
