// The workerd peer of perf/http_bench.sh (e): the same counter as
// examples/http_counter/http_counter.hpp, as a JavaScript Durable Object
// with SQLite-backed storage on local disk.
//   GET /counter/<name>    the value
//   POST /counter/<name>   adds 1 (or the integer in the body), returns the new value
//   GET /hello             a fixed body, no Durable Object
//   /echo/<name>           a WebSocket echo object (perf/ws_bench.sh), with the
//                          hibernation API as cairn's sockets are
import { DurableObject } from "cloudflare:workers";

export class Counter extends DurableObject {
  async fetch(request) {
    let value = (await this.ctx.storage.get("value")) ?? 0;
    if (request.method === "POST") {
      const body = await request.text();
      const step = body === "" ? 1 : Number.parseInt(body, 10);
      if (!Number.isInteger(step)) return new Response("the body must be an integer\n", { status: 400 });
      value += step;
      await this.ctx.storage.put("value", value);
    }
    return new Response(value + "\n");
  }
}

export class Echo extends DurableObject {
  async fetch(request) {
    if (request.headers.get("Upgrade") !== "websocket") return new Response("a WebSocket only\n", { status: 426 });
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  webSocketMessage(ws, message) {
    ws.send(message);
  }
}

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname.split("/");
    if (path[1] === "hello") return new Response("hello");
    if (path[1] === "echo" && path[2]) return env.ECHO.get(env.ECHO.idFromName(path[2])).fetch(request);
    if (path[1] !== "counter" || !path[2]) return new Response("not found\n", { status: 404 });
    return env.COUNTER.get(env.COUNTER.idFromName(path[2])).fetch(request);
  },
};
