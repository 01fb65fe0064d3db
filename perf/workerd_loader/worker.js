// The host Worker of the workerd sandbox peer (perf/workerd_loader/): each
// request runs the benchmark's guest, the equivalent of cairn's
// `export default (n) => n + 1`, in a Dynamic Worker.
//   GET /load?n=K        a new Dynamic Worker for this request alone: load()
//                        gives it no name, so nothing is reused; in workerd
//                        each one is a new V8 isolate (see run.sh)
//   GET /get?n=K         one Dynamic Worker named "bench-cached", loaded on
//                        the first request and reused by the later ones
//   GET /get?id=X&n=K    one cached Dynamic Worker per X (to measure the memory
//                        of idle cached Workers); workerd never unloads them
// Every answer is the text of n + 1.

// The guest does the same work as cairn's: read n from the request, apply
// the function, answer with the number as text. It gets the request as a
// Fetch event because a Dynamic Worker is reached through its entrypoint.
const guestSource = `
const f = (n) => n + 1;
export default {
  async fetch(request) {
    const n = Number(new URL(request.url).searchParams.get("n"));
    return new Response(String(f(n)));
  },
};
`;

// A fresh object for each call, as load() and get() take ownership of it.
function guestCode(env) {
  return {
    compatibilityDate: env.GUEST_COMPAT_DATE,
    mainModule: "guest.js",
    modules: { "guest.js": guestSource },
    // null, not omitted: omitted would inherit the host's network access.
    globalOutbound: null,
  };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    let worker;
    if (url.pathname === "/load") {
      worker = env.LOADER.load(guestCode(env));
    } else if (url.pathname === "/get") {
      // get() calls the callback only when the name is not in the cache yet.
      const id = url.searchParams.get("id") ?? "cached";
      worker = env.LOADER.get("bench-" + id, () => guestCode(env));
    } else {
      return new Response("not found\n", { status: 404 });
    }
    return worker.getEntrypoint().fetch(request);
  },
};
