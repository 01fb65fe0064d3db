#pragma once
/// `cairn::js::registry`: the JavaScript actor classes of one runtime.
///
///   cairn::runtime rt;
///   cairn::js::registry js(rt);
///   auto counters = js.add("Counter", {.modules = {{"counter.js", src}}, .main = "counter.js",
///                                     .class_name = "Counter"});
///   js.offer("LIMITER", limiters);   // a native namespace JS may call by method name
///   ... co_await cairn::js::call(counters.get("a"), "increment", {5});
///
/// Every class gets, on each shard where its actors live, one V8 isolate and
/// one context: the module is evaluated once there and each actor is an
/// object of the class (many actors per isolate, as workerd does). The
/// isolate runs on the shard's own thread, so storage calls are plain
/// function calls with the native actors' semantics.
#include <functional>
#include <cairn/http/message.hpp>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <cairn/actor_namespace.hpp>
#include <cairn/js/js_actor.hpp>
#include <cairn/js/js_class.hpp>
#include <cairn/rpc.hpp>
#include <cairn/runtime.hpp>

namespace cairn::js {

namespace detail {
struct registry_state;
}

class registry {
 public:
  /// Provides itself to `rt` (rt.service<registry>()); only before rt starts.
  explicit registry(runtime& rt);
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Registers namespace `name` backed by `cls`. Only before the runtime
  /// starts. The modules are compiled when the first actor starts: a module
  /// that does not compile or lacks the class fails that actor's events with
  /// the reason.
  actor_namespace<js_actor> add(std::string name, js_class cls, namespace_options options = {});

  /// Lets JS classes bind `ns` (a native namespace whose class offers methods
  /// by name, rpc.hpp): `env.X.getByName("a").method(...args)`.
  template <rpc_actor T>
  void offer(actor_namespace<T> ns) {
    offer_native(ns.name(), [ns](const actor_id& id, std::string method, boost::json::array args) {
      return call_by_name(ns.get(id), std::move(method), std::move(args));
    });
  }

  /// A Worker: `script`'s default export `{ fetch(request, env) }` (its
  /// class_name is not used), with env bindings like a class's. The handler
  /// runs on the shard that calls it (an HTTP route's connection); a 101
  /// Response carrying a socket an actor accepted (`stub.fetch(request)`)
  /// hands that socket on. Only before the runtime starts.
  std::function<task<http::response>(http::request)> worker(std::string name, js_class script);

  using native_call = std::function<task<boost::json::value>(const actor_id&, std::string, boost::json::array)>;

  [[nodiscard]] detail::registry_state& state() noexcept { return *state_; }

 private:
  void offer_native(const std::string& name, native_call call);
  std::unique_ptr<detail::registry_state> state_;
};

}  // namespace cairn::js
