#pragma once
// A multiplayer room: everyone connected to /room/<name> sees every message
// and who is here. Open http://127.0.0.1:8080/room/lobby in two browser tabs.
//
//   GET /room/<name>                        the page
//   WebSocket /room/<name>?user=<who>       join (the page does this)
//
// A client sends what its user says, as text. The room sends JSON:
//   {"type":"state","users":[...],"messages":[{"user","text","at"},...]}  on every join and leave
//   {"type":"message","user":...,"text":...,"at":...}                      for each new message
//
// The room keeps its last 100 messages in its own SQLite database and each
// user's name in the socket's attachment, so when it hibernates (idle for
// the runtime's idle_timeout) nothing is lost: the next message wakes a new
// instance that sees the same sockets, names and history.
#include <chrono>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include <cairn/cairn.hpp>
#include <cairn/http/message.hpp>
#include <cairn/http/target.hpp>
#include <cairn/http/websocket.hpp>
#include <cairn/storage.hpp>

#include "room_page.hpp"

namespace examples {

class room : public cairn::actor {
 public:
  static constexpr std::size_t history = 100;
  static constexpr std::size_t max_text = 2000;
  static constexpr std::size_t max_user = 32;

  cairn::task<cairn::http::response> fetch(cairn::http::request req) {
    using namespace cairn::http;
    if (!is_websocket_upgrade(req)) {
      if (req.method() != verb::get && req.method() != verb::head)
        co_return make_response(status::method_not_allowed, "GET the page, or open a WebSocket\n");
      co_return make_response(status::ok, std::string(room_page), "text/html; charset=utf-8");
    }
    std::string user = user_from(req.target());
    if (user.empty()) co_return make_response(status::bad_request, "?user= names you (1 to 32 bytes)\n");
    auto res = accept_websocket(req, {.tags = {}, .attachment = user});
    broadcast(*this, state());  // the new socket is listed already: it gets the state too
    co_return res;
  }

  void websocket_message(cairn::http::websocket ws, cairn::http::ws_message m) {
    if (m.binary || m.data.empty()) return;
    if (m.data.size() > max_text) m.data.resize(max_text);
    const auto at = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string user = ws.attachment();
    prepare();
    storage().exec("INSERT INTO messages(user, text, at) VALUES (?, ?, ?)", user, m.data, at);
    storage().exec("DELETE FROM messages WHERE id <= (SELECT MAX(id) FROM messages) - ?",
                   static_cast<std::int64_t>(history));
    // Leaves once the insert is durable (the output gate): nobody sees a
    // message the room could forget.
    cairn::http::broadcast(*this, boost::json::serialize(boost::json::object{
                                      {"type", "message"}, {"user", user}, {"text", m.data}, {"at", at}}));
  }

  void websocket_close(cairn::http::websocket, std::uint16_t, std::string) { cairn::http::broadcast(*this, state()); }
  void websocket_error(cairn::http::websocket, std::string) { cairn::http::broadcast(*this, state()); }

 private:
  void prepare() {
    if (prepared_) return;
    storage().exec("CREATE TABLE IF NOT EXISTS messages(id INTEGER PRIMARY KEY, user TEXT, text TEXT, at INTEGER)");
    prepared_ = true;
  }

  std::string state() {
    prepare();
    boost::json::array users;
    for (auto& ws : cairn::http::websockets(*this)) users.emplace_back(ws.attachment());
    auto messages = storage().exec("SELECT user, text, at FROM messages ORDER BY id").to_json();
    return boost::json::serialize(
        boost::json::object{{"type", "state"}, {"users", std::move(users)}, {"messages", std::move(messages)}});
  }

  static std::string user_from(std::string_view target) {
    const auto q = target.find("?user=");
    if (q == std::string_view::npos) return {};
    auto v = target.substr(q + 6);
    v = v.substr(0, v.find('&'));
    auto user = cairn::http::percent_decode(v).value_or("");
    return user.size() <= max_user ? user : std::string();
  }

  bool prepared_ = false;
};

}  // namespace examples
