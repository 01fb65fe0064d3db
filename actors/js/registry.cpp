#include <tuple>

#include <cairn/js/registry.hpp>

#include <stdexcept>

#include <cairn/detail/shard.hpp>

#include "class_host.hpp"
#include "registry_state.hpp"
#include "sandbox/engine.hpp"

namespace cairn::js {
namespace detail {

void registry_state::resolve_namespaces() {
  std::call_once(resolved, [&] {
    for (auto& [name, cls] : classes) {
      bound_by_name[name] = bound.size();
      bound.push_back(bound_namespace{cls->ns, cls.get(), {}});
    }
    for (auto& [name, call] : natives) {
      const auto* ns = rt.core().find_namespace(name);
      if (!ns) continue;
      bound_by_name[name] = bound.size();
      bound.push_back(bound_namespace{ns, nullptr, call});
    }
  });
}

class_entry* registry_state::class_of(const cairn::detail::namespace_state* ns) {
  auto it = classes.find(ns->name);
  return it == classes.end() || it->second->ns != ns ? nullptr : it->second.get();
}

std::shared_ptr<class_host> registry_state::host_for(class_entry& cls) {
  resolve_namespaces();
  const unsigned shard = cairn::detail::shard::current()->index();
  auto& slot = cls.hosts[shard];
  if (!slot || slot->retired()) slot = std::make_shared<class_host>(*this, cls, shard);
  return slot;
}

}  // namespace detail

registry::registry(runtime& rt) : state_(std::make_unique<detail::registry_state>(rt)) {
  sandbox::detail::ensure_v8(0, false);
  state_->dog = std::make_unique<sandbox::detail::watchdog>(rt.shard_count());
  state_->dog_registered.assign(rt.shard_count(), 0);
  rt.provide(*this);
}

registry::~registry() {
  // The hosts' isolates go before the watchdog that watches them.
  for (auto& [name, cls] : state_->classes) cls->hosts.clear();
  for (auto& w : state_->workers) w->hosts.clear();
}

actor_namespace<js_actor> registry::add(std::string name, js_class cls, namespace_options options) {
  if (cls.class_name.empty()) throw std::invalid_argument("cairn: the JS class of namespace " + name + " has no class name");
  if (cls.modules.count(cls.main) == 0)
    throw std::invalid_argument("cairn: the JS class of namespace " + name + " has no module '" + cls.main + "'");
  auto ns = state_->rt.register_namespace<js_actor>(name, options);
  auto entry = std::make_unique<detail::class_entry>();
  entry->name = name;
  entry->ns = state_->rt.core().find_namespace(name);
  entry->cls = std::move(cls);
  entry->hosts.resize(state_->rt.shard_count());
  state_->classes[name] = std::move(entry);
  return ns;
}

namespace {

task<http::response> run_worker(detail::registry_state* reg, detail::class_entry* entry, http::request request) {
  auto host = reg->host_for(*entry);
  detail::settle_wait w(*host);
  sandbox::outbound_request req = detail::outbound_of(request);
  host->start_worker_fetch(w, req);
  co_await w;
  co_return host->take_response(w);
}

}  // namespace

std::function<task<http::response>(http::request)> registry::worker(std::string name, js_class script) {
  if (script.modules.count(script.main) == 0)
    throw std::invalid_argument("cairn: the Worker " + name + " has no module '" + script.main + "'");
  auto entry = std::make_unique<detail::class_entry>();
  entry->name = name;
  entry->cls = std::move(script);
  entry->hosts.resize(state_->rt.shard_count());
  detail::class_entry* e = entry.get();
  state_->workers.push_back(std::move(entry));
  return [reg = state_.get(), e](http::request r) { return run_worker(reg, e, std::move(r)); };
}

void registry::offer_native(const std::string& name, native_call call) { state_->natives[name] = std::move(call); }

}  // namespace cairn::js
