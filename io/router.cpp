// Routing a request: before-hooks, prefix routes, then exposed actor namespaces.
#include <cairn/http/router.hpp>

#include <algorithm>
#include <cstdio>

#include <cairn/errors.hpp>

namespace cairn::http {

response make_response(status s, std::string body, std::string_view content_type) {
  response res(s, 11);
  res.set(field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

namespace {

/// Whether `path` is `prefix` or continues it with '/'.
bool under(std::string_view path, std::string_view prefix) noexcept {
  if (prefix == "/") return true;
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

void router::add(std::string prefix, handler h) {
  while (prefix.size() > 1 && prefix.ends_with('/')) prefix.pop_back();
  if (!prefix.starts_with('/')) prefix.insert(prefix.begin(), '/');
  auto at = std::find_if(routes_.begin(), routes_.end(), [&](auto& r) { return r.first.size() < prefix.size(); });
  routes_.emplace(at, std::move(prefix), std::move(h));
}

void router::add_namespace(std::string name, actor_handler h) {
  namespaces_.emplace_back(std::move(name), std::move(h));
}

task<response> router::route(request req) const {
  const std::string target(req.target());
  try {
    for (auto& hook : before_)
      if (auto early = co_await hook(req)) co_return std::move(*early);
    const std::string_view path = path_of(req.target());
    for (auto& [prefix, h] : routes_)
      if (under(path, prefix)) co_return co_await h(std::move(req));
    if (auto t = parse_actor_target(req.target())) {
      for (auto& [name, h] : namespaces_)
        if (name == t->namespace_name) co_return co_await h(*t, std::move(req));
    }
    co_return make_response(status::not_found, "not found\n");
  } catch (const invalid_id& e) {
    co_return make_response(status::bad_request, std::string(e.what()) + "\n");
  } catch (...) {
    if (on_error) {
      on_error(std::current_exception(), target);
    } else {
      try {
        throw;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "cairn: the handler of %s failed: %s\n", target.c_str(), e.what());
      } catch (...) {
        std::fprintf(stderr, "cairn: the handler of %s failed\n", target.c_str());
      }
    }
  }
  co_return make_response(status::internal_server_error, "internal server error\n");
}

}  // namespace cairn::http
