// cairn's side of the HTTP benchmark: `serve` with two namespaces.
//   /hello/<name>     a native actor that returns a fixed body (no storage)
//   /counter/<name>   the example counter: POST persists each increment
//   /echo/<name>      a WebSocket echo (perf/ws_bench.sh)
//
//   cairn_http_peer serve --port P --data-dir D --durability full --shards N
#include <cairn/http/serve.hpp>
#include <cairn/http/websocket.hpp>

#include "../examples/http_counter/http_counter.hpp"

namespace {

class hello : public cairn::actor {
 public:
  cairn::task<cairn::http::response> fetch(cairn::http::request) {
    co_return cairn::http::make_response(cairn::http::status::ok, "hello");
  }
};

/// Sends every message back on its socket.
class echo : public cairn::actor {
 public:
  cairn::task<cairn::http::response> fetch(cairn::http::request req) {
    if (!cairn::http::is_websocket_upgrade(req))
      co_return cairn::http::make_response(cairn::http::status::upgrade_required, "a WebSocket only\n");
    co_return cairn::http::accept_websocket(req);
  }
  void websocket_message(cairn::http::websocket ws, cairn::http::ws_message m) { ws.send(std::move(m.data), m.binary); }
};

}  // namespace

int main(int argc, char** argv) {
  cairn::serve::app app;
  app.add<hello>("hello");
  app.add<examples::http_counter>("counter");
  app.add<echo>("echo");
  return app.main(argc, argv);
}
