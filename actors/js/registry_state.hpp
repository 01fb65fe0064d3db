#pragma once
// What the JS registry knows: the classes by namespace, the native
// namespaces offered to them, and the hosts of each class per shard.
// Private to actors/js.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <cairn/detail/namespace_state.hpp>
#include <cairn/js/registry.hpp>

#include "sandbox/watchdog.hpp"

namespace cairn::js::detail {

class class_host;

struct class_entry {
  std::string name;
  const cairn::detail::namespace_state* ns = nullptr;
  js_class cls;
  /// One host per shard, made and touched only on that shard.
  std::vector<std::shared_ptr<class_host>> hosts;
};

/// A namespace a JS class may bind in env: a JS class or an offered native one.
struct bound_namespace {
  const cairn::detail::namespace_state* ns = nullptr;
  class_entry* js = nullptr;      // set for a JS namespace
  registry::native_call native;   // set for a native one
};

struct registry_state {
  explicit registry_state(runtime& r) : rt(r) {}

  runtime& rt;
  std::unordered_map<std::string, std::unique_ptr<class_entry>> classes;
  std::unordered_map<std::string, registry::native_call> natives;
  std::vector<std::unique_ptr<class_entry>> workers;  // Workers: no namespace
  /// Every namespace a binding may name, by position (what JS passes to natives).
  std::vector<bound_namespace> bound;
  std::unordered_map<std::string, std::size_t> bound_by_name;
  std::once_flag resolved;

  std::unique_ptr<sandbox::detail::watchdog> dog;
  std::vector<char> dog_registered;  // per shard, touched by that shard only

  /// Fills `bound` from the registered namespaces (once, at first use).
  void resolve_namespaces();
  /// The host of `cls` on the calling shard, made on first use.
  std::shared_ptr<class_host> host_for(class_entry& cls);
  /// The class of a namespace (nullptr if it is not a JS one).
  class_entry* class_of(const cairn::detail::namespace_state* ns);
};

}  // namespace cairn::js::detail
