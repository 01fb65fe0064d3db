#pragma once
// Actor stubs granted to guest code: `code.actors["COUNTER"] =
// sandbox::grant_actors(counters)` gives the guest `env.COUNTER`, with
//
//   const c = env.COUNTER.getByName("alice");   // or env.COUNTER.get(hexId)
//   await c.add(5);                              // a method offered by name (cairn/rpc.hpp)
//
// Each call goes through the runtime to the actor's mailbox, from the shard of
// the guest's caller; arguments and results cross as JSON. Only the methods in
// the class's `rpc` table exist on the stub.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <cairn/actor_namespace.hpp>
#include <cairn/rpc.hpp>
#include <cairn/task.hpp>

namespace cairn::sandbox {

struct actor_grant {
  /// The methods the guest's stubs have.
  std::vector<std::string> methods;
  /// Calls `method` on the actor named `key` (or with the hex id `key`).
  std::function<task<boost::json::value>(std::string key, bool is_id, std::string method, boost::json::array args)> call;
};

namespace detail {
template <class T>
task<boost::json::value> call_granted(actor_namespace<T> ns, std::string key, bool is_id, std::string method,
                                      boost::json::array args) {
  const actor_id id = is_id ? ns.id_from_string(key) : ns.id_from_name(key);
  co_return co_await call_by_name(ns.get(id), std::move(method), std::move(args));
}
}  // namespace detail

/// Stubs of every actor of `ns`, with the methods T offers by name.
template <rpc_actor T>
actor_grant grant_actors(actor_namespace<T> ns) {
  actor_grant g;
  g.methods = rpc_names<T>();
  // Not a coroutine lambda: its captures would die with the std::function.
  g.call = [ns](std::string key, bool is_id, std::string method, boost::json::array args) {
    return detail::call_granted(ns, std::move(key), is_id, std::move(method), std::move(args));
  };
  return g;
}

}  // namespace cairn::sandbox
