// The broadcast benchmark's module (perf/js_bench.sh), the same on cairn and
// on workerd: a Worker sends every WebSocket to the room its path names, and
// the room sends each message to every socket it holds (hibernation API).
import { DurableObject } from "cloudflare:workers";

export class Broadcast extends DurableObject {
  async fetch(request) {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  async webSocketMessage(ws, message) {
    for (const socket of this.ctx.getWebSockets()) socket.send(message);
  }
}

export default {
  async fetch(request, env) {
    const room = new URL(request.url).pathname.slice(1) || "room";
    return env.BROADCAST.getByName(room).fetch(request);
  },
};
