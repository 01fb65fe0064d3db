// The server the WebSocket tests (test/ws/websocket.test.mjs, Node's `ws`
// client) talk to: a `room` actor that accepts sockets and obeys text
// commands, and admin routes to force hibernation and to count activations
// without waking anything; and the example room (examples/room) at /chat.
// Prints "port <n>" once listening; stops on
// SIGTERM or SIGINT.
//
//   ws_server DATA_DIR [--max-message BYTES]
#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <cairn/cairn.hpp>
#include <cairn/clock.hpp>
#include <cairn/http/router.hpp>
#include <cairn/http/server.hpp>
#include <cairn/http/websocket.hpp>
#include <cairn/storage.hpp>

#include "../../examples/room/room.hpp"

namespace {

using namespace cairn::http;

std::mutex stats_mutex;
std::map<std::string, int> activations;         // room id -> instances built
std::map<std::string, std::string> last_close;  // room id -> "code reason" the room heard

// The query parameter, or "" when it is absent or malformed.
std::string param(std::string_view target, std::string_view name) {
  return cairn::http::query_param(target, name).value_or("");
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (;;) {
    auto at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

/// Commands (text messages): "echo:X", "all:X" (broadcast), "others:X",
/// "tag:T:X", "tags", "count[:T]", "attach:X", "attachment", "close:CODE:REASON",
/// "auto:REQUEST:REPLY", "store:X" (a durable write, then "stored:X"), "throw".
/// A binary message is echoed.
class room : public cairn::actor {
 public:
  room() {
    std::lock_guard lock(stats_mutex);
    ++activations[id().to_string()];
  }

  cairn::task<response> fetch(request req) {
    if (!is_websocket_upgrade(req)) co_return make_response(status::upgrade_required, "a WebSocket only\n");
    websocket_accept a;
    if (auto t = param(req.target(), "tags"); !t.empty()) a.tags = split(t, ',');
    a.attachment = param(req.target(), "attach");
    try {
      co_return accept_websocket(req, std::move(a));
    } catch (const std::invalid_argument& e) {
      co_return make_response(status::bad_request, std::string(e.what()) + "\n");
    }
  }

  cairn::task<void> websocket_message(websocket ws, ws_message m) {
    if (m.binary) {
      ws.send(std::move(m.data), true);
      co_return;
    }
    const std::string_view text = m.data;
    auto arg = [&](std::string_view cmd) { return std::string(text.substr(cmd.size())); };
    if (text.starts_with("echo:")) {
      ws.send(arg("echo:"));
    } else if (text.starts_with("all:")) {
      broadcast(*this, arg("all:"));
    } else if (text.starts_with("others:")) {
      broadcast(*this, arg("others:"), ws);
    } else if (text.starts_with("tag:")) {
      auto parts = split(arg("tag:"), ':');
      broadcast(*this, parts.size() > 1 ? parts[1] : "", {}, parts.at(0));
    } else if (text == "tags") {
      std::string out;
      for (auto& t : ws.tags()) out += (out.empty() ? "" : ",") + t;
      ws.send("tags:" + out);
    } else if (text.starts_with("count")) {
      const std::string tag = text.size() > 6 ? arg("count:") : "";
      ws.send("count:" + std::to_string(websockets(*this, tag).size()));
    } else if (text.starts_with("attach:")) {
      try {
        ws.serialize_attachment(arg("attach:"));
        ws.send("attached");
      } catch (const std::length_error&) {
        ws.send("attachment too big");
      }
    } else if (text == "attachment") {
      ws.send("attachment:" + ws.attachment());
    } else if (text.starts_with("close:")) {
      auto parts = split(arg("close:"), ':');
      ws.close(static_cast<std::uint16_t>(std::stoi(parts.at(0))), parts.size() > 1 ? parts[1] : "");
    } else if (text.starts_with("auto:")) {
      auto parts = split(arg("auto:"), ':');
      set_websocket_auto_response(*this, parts.at(0), parts.size() > 1 ? parts[1] : "");
      ws.send("auto set");
    } else if (text.starts_with("store:")) {
      storage().put("last", arg("store:"));
      ws.send("stored:" + arg("store:"));  // leaves once the write is durable
    } else if (text == "throw") {
      throw std::runtime_error("the room was told to throw");
    } else {
      ws.send("unknown command");
    }
  }

  void websocket_close(websocket, std::uint16_t code, std::string reason) {
    std::lock_guard lock(stats_mutex);
    last_close[id().to_string()] = std::to_string(code) + " " + reason;
  }
};

/// An actor whose only use is to be called on a given shard.
struct probe : cairn::actor {
  int ping() { return 1; }
};

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ws_server DATA_DIR [--max-message BYTES]\n");
    return 2;
  }
  auto clock = std::make_shared<cairn::manual_clock>();
  cairn::runtime_options o;
  o.shards = 2;
  o.data_dir = argv[1];
  o.durability = cairn::durability::normal;
  o.clock = clock;  // hibernation happens when a test asks for it
  cairn::runtime rt(o);
  rt.stop_on_signals();
  auto rooms = rt.register_namespace<room>("room");
  auto probes = rt.register_namespace<probe>("probe");
  auto chat = rt.register_namespace<examples::room>("chat");  // the example, as `cairn serve` runs it

  server_options so;
  so.max_header_bytes = 64 * 1024;  // room for a 16 KiB attachment in a query
  for (int i = 2; i + 1 < argc; i += 2)
    if (std::string_view(argv[i]) == "--max-message") so.max_websocket_message_bytes = std::stoull(argv[i + 1]);

  router r;
  r.expose("room", rooms);
  r.expose("chat", chat);
  // Every idle actor hibernates: the clock jumps past the idle timeout, then
  // a call to a probe on each shard returns after that shard's sweep ran.
  r.add("/admin/hibernate", [&rt, clock, probes](request) -> cairn::task<response> {
    clock->advance(std::chrono::hours(1));
    std::vector<bool> reached(rt.shard_count());
    for (int i = 0; std::find(reached.begin(), reached.end(), false) != reached.end(); ++i) {
      const auto id = probes.id_from_name("probe-" + std::to_string(i));
      const auto shard = rt.core().shard_index(id);
      if (reached[shard]) continue;
      co_await probes.get(id).call(&probe::ping);
      reached[shard] = true;
    }
    co_return make_response(status::ok, "hibernated\n");
  });
  // {"activations": N, "close": "..."} for /admin/stats?room=NAME, waking nothing.
  r.add("/admin/stats", [rooms](request req) -> cairn::task<response> {
    const auto id = rooms.id_from_name(param(req.target(), "room")).to_string();
    std::lock_guard lock(stats_mutex);
    co_return make_response(
        status::ok, "{\"activations\":" + std::to_string(activations[id]) + ",\"close\":\"" + json_escape(last_close[id]) + "\"}",
        "application/json");
  });

  server srv(rt, std::move(r), so);
  srv.start();
  std::printf("port %u\n", srv.port());
  std::fflush(stdout);
  rt.run();
  return 0;
}
