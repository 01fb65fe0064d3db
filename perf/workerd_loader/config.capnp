# workerd config of the sandbox benchmark's peer: a host Worker that runs
# tenant code in Dynamic Workers (the Worker Loader binding), the nearest
# thing workerd has to cairn's sandbox pool. The listening address is given on
# the command line: --socket-addr http=127.0.0.1:PORT.
#
# The Worker Loader is experimental in workerd: the config is rejected unless
# workerd runs with `serve --experimental`. No compatibility flag is needed on
# the host for it (the worker-loader tests in the workerd source set some, for
# features this peer does not use).
using Workerd = import "/workerd/workerd.capnp";

# One date for the host and its guests, so that they run the same semantics;
# the host reads it from the GUEST_COMPAT_DATE binding. It must not be later
# than the date the workerd binary supports, or load() throws.
const compatDate :Text = "2025-01-01";

const config :Workerd.Config = (
  services = [(name = "main", worker = .hostWorker)],
  sockets = [(name = "http", address = "*:8080", http = (), service = "main")],
);

const hostWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = .compatDate,
  bindings = [
    # No `id`: this loader's cache of named Workers is private to the host.
    (name = "LOADER", workerLoader = ()),
    (name = "GUEST_COMPAT_DATE", text = .compatDate),
  ],
);
