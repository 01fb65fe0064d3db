#pragma once
// What a sandboxed worker is: its ES modules, the capabilities granted to it
// and its limits. Nothing else is reachable from inside.
#include <functional>
#include <map>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cairn/sandbox/actor_grant.hpp>
#include <cairn/sandbox/fetch_policy.hpp>
#include <cairn/sandbox/limits.hpp>
#include <cairn/task.hpp>

namespace cairn::sandbox {

/// A function of the host the guest may call: `await env.NAME(...args)`. It
/// runs on the shard of the call's caller; arguments arrive copied as JSON
/// (never a live guest object); a throw rejects the guest's promise with the
/// exception's message.
using host_function = std::function<task<boost::json::value>(boost::json::array args)>;

struct worker_code {
  /// Module name -> ES module source. Imports resolve only among these
  /// ("./util.js" from "lib/a.js" is "lib/util.js").
  std::map<std::string, std::string> modules;
  /// The module whose default export is the entry point.
  std::string main;
  /// JSON values the guest sees as frozen, null-prototype `env` properties.
  boost::json::object env;
  /// Host functions the guest sees as `env` methods returning promises.
  std::map<std::string, host_function> functions;
  /// Actor stubs the guest sees as `env.NAME` (see actor_grant.hpp).
  std::map<std::string, actor_grant> actors;
  /// The guest's `fetch`.
  fetch_policy fetch;
  sandbox::limits limits;
  /// Isolates are never shared across tenants. Empty: the worker id for
  /// pool::get, a fresh tenant for each pool::load.
  std::string tenant;
};

}  // namespace cairn::sandbox
