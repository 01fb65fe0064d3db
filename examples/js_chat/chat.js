// A chat room as a JavaScript Durable Object with WebSocket hibernation,
// calling a native C++ actor (examples/rate_limiter) before every message.
//
//   WebSocket /js/chat/<room>?user=<who>   join; send text, get JSON:
//     {"type":"join"|"leave","user","users":[...]}
//     {"type":"message","user","text","n"}          n: the room's message count
//     {"type":"slow-down","retryInMs"}              the rate limiter said no
//
// The room sleeps (hibernates) when idle; its sockets stay open, each with
// its user in the attachment, and the next message wakes a new instance.
import { DurableObject } from "cloudflare:workers";

export class ChatRoom extends DurableObject {
  async fetch(request) {
    if (request.headers.get("Upgrade") !== "websocket") return new Response("open a WebSocket\n", { status: 426 });
    const user = (new URL(request.url).searchParams.get("user") || "anon").slice(0, 32);
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server, ["user:" + user]);
    server.serializeAttachment({ user });
    this.broadcast({ type: "join", user, users: this.users() });
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws, message) {
    const { user } = ws.deserializeAttachment();
    const verdict = await this.env.LIMITER.getByName(user).take(1);
    if (!verdict.ok) {
      ws.send(JSON.stringify({ type: "slow-down", retryInMs: verdict.retry_in_ms }));
      return;
    }
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, user TEXT, text TEXT)");
    sql.exec("INSERT INTO messages (user, text) VALUES (?, ?)", user, String(message).slice(0, 2000));
    const n = sql.exec("SELECT count(*) AS n FROM messages").one().n;
    this.broadcast({ type: "message", user, text: String(message), n });
  }

  async webSocketClose(ws, code, reason, wasClean) {
    const { user } = ws.deserializeAttachment();
    this.broadcast({ type: "leave", user, users: this.users().filter((u) => u !== user) }, ws);
  }

  users() {
    return this.ctx.getWebSockets().map((ws) => ws.deserializeAttachment().user);
  }

  broadcast(message, except) {
    const text = JSON.stringify(message);
    for (const ws of this.ctx.getWebSockets()) if (ws !== except) ws.send(text);
  }
}

export default {
  async fetch(request, env) {
    const room = new URL(request.url).pathname.split("/")[1];
    if (!room) return new Response("GET /<room>?user=<who> with a WebSocket upgrade\n", { status: 400 });
    return env.ROOMS.getByName(room).fetch(request);
  },
};
