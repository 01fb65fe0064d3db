#pragma once
/// `cairn::js::js_actor`: the native actor that hosts one JavaScript actor (an
/// instance of a js_class) and feeds it its events as turns, with the same
/// semantics as any native actor: one event at a time except at awaits on
/// something other than storage, atomic writes between awaits, the output
/// gate, the alarm, hibernation.
///
/// From C++: `co_await ref.call(&js_actor::call, "increment", json::array{5})`
/// (arguments and result as JSON), or `cairn::js::call(ref, "increment", {5})`.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <cairn/actor.hpp>
#include <cairn/actor_namespace.hpp>
#include <cairn/actor_ref.hpp>
#include <cairn/http/message.hpp>
#include <cairn/http/websocket.hpp>
#include <cairn/task.hpp>

namespace cairn::js {

namespace detail {
class class_host;
}

class js_actor : public actor {
 public:
  js_actor();
  ~js_actor() override;

  /// Finds the class's isolate; the object is made (the constructor runs) by
  /// the first event, which may carry the actor's name.
  task<void> on_start();

  /// Calls the public method `method` with JSON arguments; its (awaited)
  /// result as JSON. Throws js_error with the JS error's message.
  task<boost::json::value> call(std::string method, boost::json::array args);
  /// The same for a caller that reached the actor by `id_name`
  /// (id_from_name): the actor learns it as ctx.id.name.
  task<boost::json::value> call_named(std::string id_name, std::string method, boost::json::array args);
  /// The same with arguments and result by structured clone (V8's
  /// serialization format): how JS actors call each other.
  task<std::string> call_cloned(std::string method, std::string args, std::optional<std::string> id_name);
  /// The class's fetch(request) handler.
  task<http::response> fetch(http::request request);
  /// The same for a request that reached the actor by `id_name` (a route
  /// `/<ns>/<name>/...`, a stub of getByName()).
  task<http::response> fetch_named(std::string id_name, http::request request);
  /// The class's alarm(alarmInfo) handler.
  task<void> alarm(alarm_info info) override;
  /// The class's webSocketMessage(ws, message), webSocketClose(ws, code,
  /// reason, wasClean) and webSocketError(ws, error) for the sockets it
  /// accepted with ctx.acceptWebSocket (kept across hibernation).
  task<void> websocket_message(http::websocket ws, http::ws_message m);
  task<void> websocket_close(http::websocket ws, std::uint16_t code, std::string reason);
  task<void> websocket_error(http::websocket ws, std::string what);

  /// The handle natives use to find this actor (never reused in a process).
  [[nodiscard]] std::uint64_t handle() const noexcept { return handle_; }

  // ---- for the natives of its class (actors/js) ----
  /// A socket of this actor by id (accepted, listed or delivered), or nullptr.
  [[nodiscard]] http::websocket* socket(std::uint64_t id);
  void remember(const http::websocket& ws) { sockets_[ws.id()] = ws; }
  /// Its JS object can no longer be trusted (an event ran out of CPU or wall
  /// time, a blockConcurrencyWhile callback failed): the next event builds a
  /// new one (the constructor runs again) and the events still waiting on the
  /// old one fail.
  void mark_stale() noexcept;
  /// ctx.blockConcurrencyWhile() of the current object: holds this actor's
  /// other events until the matching release, or until the object is reset.
  void hold_events() noexcept;
  void release_events() noexcept;
  /// storage.transaction(): a nested transaction, by a number. Ending one
  /// ends the ones begun inside it first (rolled back); false if it is not
  /// open (ended, or rolled back by abandon_transactions()).
  std::uint64_t begin_transaction();
  bool end_transaction(std::uint64_t id, bool commit);
  [[nodiscard]] bool transaction_open(std::uint64_t id) const noexcept;
  /// The slice ends with transactions open (their callbacks await something
  /// else than storage): rolls them back, before the segment ends.
  void abandon_transactions() noexcept;
  /// Accepts the upgrade of the fetch event whose first slice is running;
  /// throws std::logic_error outside one.
  http::websocket accept(std::vector<std::string> tags);

 private:
  /// Readies the object for an event that carried `id_name` (or none): learns
  /// the name, makes the object if there is none, rebuilds it if it is stale
  /// or in a new isolate if its class's isolate on this shard passed its heap
  /// limit, and awaits the blockConcurrencyWhile() calls of its constructor.
  task<void> prepare(std::optional<std::string> id_name);
  /// Checks a name an event carried against the id and records it (once) in
  /// the actor's database, so that events without one (an alarm after
  /// hibernation) see it too.
  void learn_name(std::string id_name);
  /// Reads the name the database recorded, once per instance.
  void load_name();

  std::shared_ptr<detail::class_host> host_;
  std::uint64_t handle_ = 0;
  bool built_ = false;  // the object of handle_ exists
  bool stale_ = false;
  std::uint32_t holds_ = 0;  // blockConcurrencyWhile() calls of the object not yet settled
  std::vector<std::uint64_t> transactions_;  // storage.transaction()s open, innermost last
  std::uint64_t next_transaction_ = 1;
  std::optional<std::string> name_;  // ctx.id.name
  bool name_loaded_ = false;         // name_ holds what the database recorded
  std::unordered_map<std::uint64_t, http::websocket> sockets_;
  const http::request* upgrade_request_ = nullptr;   // during a fetch event's first slice
  std::optional<http::response> accepted_;           // what accept() made of it
};

/// A JS error that crossed into C++: its message ("TypeError: ...") and stack.
class js_error : public std::runtime_error {
 public:
  js_error(const std::string& message, std::string stack, std::string serialized = {})
      : std::runtime_error(message), stack_(std::move(stack)), serialized_(std::move(serialized)) {}
  [[nodiscard]] const std::string& stack() const noexcept { return stack_; }
  /// The error object by structured clone, when it came from JS (so a JS
  /// caller can rethrow it with its type).
  [[nodiscard]] const std::string& serialized() const noexcept { return serialized_; }

 private:
  std::string stack_;
  std::string serialized_;
};

/// `co_await js::call(ref, "increment", args)`.
inline task<boost::json::value> call(actor_ref<js_actor> ref, std::string method, boost::json::array args) {
  co_return co_await ref.call(&js_actor::call, std::move(method), std::move(args));
}

/// `co_await js::call(ns, "room-7", "increment", args)`: the actor named
/// "room-7", which sees that name as ctx.id.name.
inline task<boost::json::value> call(actor_namespace<js_actor> ns, std::string name, std::string method,
                                     boost::json::array args) {
  auto ref = ns.get(name);
  co_return co_await ref.call(&js_actor::call_named, std::move(name), std::move(method), std::move(args));
}

}  // namespace cairn::js
