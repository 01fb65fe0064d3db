// The workerd peer of perf/http_bench.sh (e): the same counter as
// examples/http_counter/http_counter.hpp, as a JavaScript Durable Object
// with SQLite-backed storage on local disk.
//   GET /counter/<name>    the value
//   POST /counter/<name>   adds 1 (or the integer in the body), returns the new value
//   GET /hello             a fixed body, no Durable Object
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

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname.split("/");
    if (path[1] === "hello") return new Response("hello");
    if (path[1] !== "counter" || !path[2]) return new Response("not found\n", { status: 404 });
    return env.COUNTER.get(env.COUNTER.idFromName(path[2])).fetch(request);
  },
};
