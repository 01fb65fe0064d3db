// JS actors: WebSockets with hibernation as Durable Objects document them
// (acceptWebSocket, tags, attachments, getWebSockets, auto-response, the
// webSocket* handlers), through a real server and a real client.
#include <boost/test/unit_test.hpp>

#include <chrono>

#include <cairn/clock.hpp>
#include <cairn/http/router.hpp>
#include <cairn/http/server.hpp>

#include "../ws_client.hpp"
#include "js_fixture.hpp"

using namespace std::chrono_literals;
using cairn_test::ws_client;

namespace {

// A chat room in the style of Cloudflare's hibernation example.
const char* chat_js = R"js(
import { DurableObject } from "cloudflare:workers";
let instances = 0;
export class Chat extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.instance = ++instances;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }
  async fetch(request) {
    if (request.headers.get("Upgrade") !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    const user = new URL(request.url).searchParams.get("user") ?? "anon";
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server, ["user:" + user, "everyone"]);
    server.serializeAttachment({ user, joined: this.ctx.getWebSockets().length });
    return new Response(null, { status: 101, webSocket: client });
  }
  async webSocketMessage(ws, message) {
    const { user, joined } = ws.deserializeAttachment();
    const n = (this.ctx.storage.kv.get("n") ?? 0) + 1;
    this.ctx.storage.kv.put("n", n);
    const tags = this.ctx.getTags(ws).join(",");
    const same = this.ctx.getWebSockets("user:" + user)[0] === ws;
    const text = `${n} ${user}(${joined}) ${message} [${tags}] same=${same} instance=${this.instance}`;
    for (const other of this.ctx.getWebSockets("everyone")) other.send(text);
  }
  async webSocketClose(ws, code, reason, wasClean) {
    for (const other of this.ctx.getWebSockets()) if (other !== ws) other.send(`left ${ws.deserializeAttachment().user} ${code}`);
  }
}
)js";

struct chat_server {
  chat_server() : rt(options()), js(rt) {
    cairn::js::js_class c;
    c.modules["chat.js"] = chat_js;
    c.main = "chat.js";
    c.class_name = "Chat";
    cairn::http::router r;
    r.expose("chat", js.add("CHAT", c));
    srv.emplace(rt, std::move(r));
    srv->start();
  }
  ~chat_server() {
    rt.stop();
    rt.run();
  }
  cairn::runtime_options options() {
    auto o = cairn_test::js_world::options(dir, 1);
    o.clock = clock;
    o.idle_timeout = 10s;
    return o;
  }
  void idle_for(std::chrono::seconds s) {
    clock->advance(s);
    rt.block_on([]() -> cairn::task<void> { co_return; }(), 0);
  }
  std::shared_ptr<cairn::manual_clock> clock = std::make_shared<cairn::manual_clock>();
  cairn_test::temp_dir dir;
  cairn::runtime rt;
  cairn::js::registry js;
  std::optional<cairn::http::server> srv;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(js_websockets)

BOOST_AUTO_TEST_CASE(sockets_tags_and_attachments_survive_hibernation) {
  chat_server s;
  ws_client ann(s.srv->port(), "/chat/lobby?user=ann");
  ws_client bob(s.srv->port(), "/chat/lobby?user=bob");
  BOOST_TEST(ann.ask("hi") == "1 ann(1) hi [user:ann,everyone] same=true instance=1");
  BOOST_TEST(bob.next() == "1 ann(1) hi [user:ann,everyone] same=true instance=1");
  BOOST_TEST(ann.ask("ping") == "pong");  // answered without waking the actor
  s.idle_for(11s);                          // hibernates; the sockets stay open
  BOOST_TEST(bob.ask("back") == "2 bob(2) back [user:bob,everyone] same=true instance=2");
  BOOST_TEST(ann.next() == "2 bob(2) back [user:bob,everyone] same=true instance=2");
  bob.ws.close(cairn_test::bws::close_code::normal);
  BOOST_TEST(ann.next() == "left bob 1000");
  ann.ws.close(cairn_test::bws::close_code::normal);
}

BOOST_AUTO_TEST_SUITE_END()
