#pragma once
/// JavaScript Workers and Durable Object classes in `cairn serve`, from the
/// config file's "workers" array:
///
///   "workers": [{
///     "main": "examples/js_counter/counter.js",     // the module (path from the working directory)
///     "modules": ["lib/util.js"],                     // more modules, relative to main's folder
///     "route": "/js/counter",                         // where the default export's fetch answers (absent: none)
///     "durable_objects": {"COUNTERS": "Counter"},     // env binding -> exported class (namespace COUNTERS)
///     "bindings": {"LIMITER": "limiter"},             // env binding -> a namespace of the program
///     "vars": {"GREETING": "hi"},                     // env values (JSON)
///     "cpu_ms": 30000,                                // CPU per slice of an event
///     "cpu_event_ms": 30000,                          // CPU of all the slices of one event (0: none)
///     "wall_ms": 60000,                               // wall time per event (0: none)
///     "fetch": ["https://api.example.com/v1/"]        // URL prefixes fetch() may reach (absent: none);
///                                                     // {"prefix": ..., "private": true} also reaches private addresses
///   }]
///
/// A Worker mounted at a route other than "/" sees request URLs without the
/// route's prefix (/js/counter/increment arrives as /increment), so code
/// written for its own host runs unchanged. Each Durable Object namespace is
/// also exposed at /<NAME>/<id name>/... . Native namespaces JS may bind are
/// offered with offer<T>(name).
#include <memory>
#include <string>

#include <cairn/http/serve.hpp>
#include <cairn/js/registry.hpp>

namespace cairn::js {

class serve_workers {
 public:
  /// Adds the config's workers to `app` (app.extend).
  explicit serve_workers(serve::app& app);

  /// Lets workers bind the namespace `name` that app.add<T>(name) registers.
  template <rpc_actor T>
  void offer(std::string name) {
    offers_->push_back([name](runtime& rt, registry& reg) { reg.offer(rt.get_namespace<T>(name)); });
  }

 private:
  using offer_fn = std::function<void(runtime&, registry&)>;
  std::shared_ptr<std::vector<offer_fn>> offers_ = std::make_shared<std::vector<offer_fn>>();
};

}  // namespace cairn::js
