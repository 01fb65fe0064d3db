# workerd config of the HTTP benchmark's peer (e). The listening address is
# given on the command line: --socket-addr http=127.0.0.1:PORT. The storage
# directory is the one the `do-storage` disk service names; http_bench.sh
# points it at its scratch folder with --directory-path do-storage=DIR.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .counterWorker),
    (name = "do-storage", disk = (writable = true)),
  ],
  sockets = [(name = "http", address = "*:8080", http = (), service = "main")],
);

const counterWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-01-01",
  durableObjectNamespaces = [
    (className = "Counter", uniqueKey = "cairn-bench-counter", enableSql = true),
    (className = "Echo", uniqueKey = "cairn-bench-echo", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [
    (name = "COUNTER", durableObjectNamespace = "Counter"),
    (name = "ECHO", durableObjectNamespace = "Echo"),
  ],
);
