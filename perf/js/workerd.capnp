# The JS benchmark's modules on workerd (perf/js_bench.sh): the documented
# counter and the broadcast room, SQLite-backed Durable Objects on local disk.
#   workerd serve perf/js/workerd.capnp --socket-addr counter=127.0.0.1:P \
#     --socket-addr broadcast=127.0.0.1:P2 --directory-path do-storage=DIR
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "counter", worker = .counterWorker),
    (name = "broadcast", worker = .broadcastWorker),
    (name = "do-storage", disk = (writable = true)),
  ],
  sockets = [
    (name = "counter", address = "*:8081", http = (), service = "counter"),
    (name = "broadcast", address = "*:8082", http = (), service = "broadcast"),
  ],
);

const counterWorker :Workerd.Worker = (
  modules = [(name = "counter.js", esModule = embed "../../examples/js_counter/counter.js")],
  compatibilityDate = "2025-06-01",
  durableObjectNamespaces = [(className = "Counter", uniqueKey = "cairn-bench-js-counter", enableSql = true)],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [(name = "COUNTERS", durableObjectNamespace = "Counter")],
);

const broadcastWorker :Workerd.Worker = (
  modules = [(name = "broadcast.js", esModule = embed "broadcast.js")],
  compatibilityDate = "2025-06-01",
  durableObjectNamespaces = [(className = "Broadcast", uniqueKey = "cairn-bench-js-broadcast", enableSql = true)],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [(name = "BROADCAST", durableObjectNamespace = "Broadcast")],
);
