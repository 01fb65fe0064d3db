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

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The path of a request target: up to '?' or '#'.
std::string_view path_of(std::string_view target) noexcept {
  return target.substr(0, std::min(target.find('?'), target.find('#')));
}

/// Whether `path` is `prefix` or continues it with '/'.
bool under(std::string_view path, std::string_view prefix) noexcept {
  if (prefix == "/") return true;
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return std::nullopt;
    out.push_back(c);
    i += 2;
  }
  return out;
}

std::optional<actor_target> parse_actor_target(std::string_view target) {
  std::string_view path = path_of(target);
  if (!path.starts_with('/')) return std::nullopt;
  path.remove_prefix(1);
  const auto first_end = path.find('/');
  if (first_end == std::string_view::npos || first_end == 0) return std::nullopt;
  std::string_view ns = path.substr(0, first_end);
  std::string_view rest = path.substr(first_end + 1);
  std::string_view key = rest.substr(0, rest.find('/'));
  if (key.empty()) return std::nullopt;
  actor_target t;
  auto ns_decoded = percent_decode(ns);
  if (!ns_decoded) return std::nullopt;
  t.namespace_name = std::move(*ns_decoded);
  if (key.starts_with('~')) {
    t.is_id = true;
    t.key = std::string(key.substr(1));
    return t;
  }
  auto key_decoded = percent_decode(key);
  if (!key_decoded || key_decoded->empty()) return std::nullopt;
  t.key = std::move(*key_decoded);
  return t;
}

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
