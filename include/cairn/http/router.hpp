#pragma once
/// `cairn::http::router`: where a request goes.
///
///   router r;
///   r.expose("counter", counters);          // /counter/<name>[/rest] and /counter/~<hex id>[/rest]
///   r.add("/health", [](request) -> task<response> { co_return make_response(status::ok, "ok"); });
///   r.before([](request& req) -> task<std::optional<response>> { ... });   // reject or rewrite
///
/// Exposed actor classes have `cairn::task<cairn::http::response> fetch(cairn::http::request)`,
/// and `websocket_message` etc. if they accept WebSockets (websocket.hpp);
/// one that also has `fetch_named(std::string name, request)` gets the name
/// of a route by name through it (JS actors: ctx.id.name).
/// A name segment is percent-decoded; one that starts with `~` is a full hex
/// id (`actor_namespace::id_from_string`), so a name that starts with `~`
/// must be sent as `%7E...`.
#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cairn/actor_namespace.hpp>
#include <cairn/actor_ref.hpp>
#include <cairn/http/message.hpp>
#include <cairn/http/target.hpp>
#include <cairn/http/websocket.hpp>
#include <cairn/task.hpp>

namespace cairn::http {

using handler = std::function<task<response>(request)>;
/// Runs before routing: returns a response to answer with it (a 401, a
/// redirect), or nullopt to go on with the request (which it may rewrite).
using before_hook = std::function<task<std::optional<response>>(request&)>;

template <class T>
concept fetchable = requires(T& a, request r) {
  { a.fetch(std::move(r)) } -> std::same_as<task<response>>;
};

/// An actor that learns the name it was reached by (a route /<ns>/<name>/...).
template <class T>
concept fetchable_by_name = requires(T& a, std::string name, request r) {
  { a.fetch_named(std::move(name), std::move(r)) } -> std::same_as<task<response>>;
};

class router {
 public:
  router() = default;

  /// Requests to `/<name>/...` reach the actors of `ns` (see above).
  template <fetchable T>
  void expose(std::string name, actor_namespace<T> ns) {
    add_namespace(std::move(name), [ns](const actor_target& t, request req) -> task<response> {
      const actor_id id = t.is_id ? ns.id_from_string(t.key) : ns.id_from_name(t.key);
      const auto ref = ns.get(id);
      response res;
      if constexpr (fetchable_by_name<T>) {
        if (!t.is_id) res = co_await ref.call(&T::fetch_named, std::string(t.key), std::move(req));
        else res = co_await ref.call(&T::fetch, std::move(req));
      } else {
        res = co_await ref.call(&T::fetch, std::move(req));
      }
      if constexpr (websocket_actor<T>) {
        if (res.websocket_upgrade()) detail::bind_websocket_target(res, detail::websocket_target_for(ref));
      }
      co_return res;
    });
  }
  /// Requests whose path is `prefix` or starts with `prefix/` go to `h`; the
  /// longest matching prefix wins, and routes win over exposed namespaces.
  void add(std::string prefix, handler h);
  void before(before_hook h) { before_.push_back(std::move(h)); }

  /// Answers one request: hooks, then a route, an exposed namespace or 404.
  /// An exception from a handler becomes a 500 (400 for an id of the wrong
  /// namespace), reported to `on_error` first.
  [[nodiscard]] task<response> route(request req) const;

  /// Where handler failures are reported (default: stderr).
  std::function<void(std::exception_ptr, std::string_view target)> on_error;

 private:
  using actor_handler = std::function<task<response>(const actor_target&, request)>;
  void add_namespace(std::string name, actor_handler h);

  std::vector<std::pair<std::string, handler>> routes_;  // longest prefix first
  std::vector<std::pair<std::string, actor_handler>> namespaces_;
  std::vector<before_hook> before_;
};

}  // namespace cairn::http
