# The same JavaScript examples on workerd (npm, perf/workerd), for the
# comparison test (test/ws/workerd_compat.test.mjs) and the benchmarks
# (perf/js_bench.sh). Ports come from the command line:
#   workerd serve examples/js/workerd.capnp --socket-addr counter=127.0.0.1:P1 \
#     --socket-addr websocket=127.0.0.1:P2 --directory-path do-storage=DIR
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "counter", worker = .counterWorker),
    (name = "websocket", worker = .websocketWorker),
    (name = "do-storage", disk = (writable = true)),
  ],
  sockets = [
    (name = "counter", address = "*:8081", http = (), service = "counter"),
    (name = "websocket", address = "*:8082", http = (), service = "websocket"),
  ],
);

const counterWorker :Workerd.Worker = (
  modules = [(name = "counter.js", esModule = embed "../js_counter/counter.js")],
  compatibilityDate = "2025-06-01",
  durableObjectNamespaces = [(className = "Counter", uniqueKey = "cairn-examples-counter", enableSql = true)],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [(name = "COUNTERS", durableObjectNamespace = "Counter")],
);

const websocketWorker :Workerd.Worker = (
  modules = [(name = "server.js", esModule = embed "../js_websocket/server.js")],
  compatibilityDate = "2025-06-01",
  durableObjectNamespaces = [
    (className = "WebSocketHibernationServer", uniqueKey = "cairn-examples-websocket", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [(name = "WEBSOCKET_HIBERNATION_SERVER", durableObjectNamespace = "WebSocketHibernationServer")],
);
