// cairn's side of the HTTP benchmark: `serve` with two namespaces.
//   /hello/<name>     a native actor that returns a fixed body (no storage)
//   /counter/<name>   the example counter: POST persists each increment
//
//   cairn_http_peer serve --port P --data-dir D --durability full --shards N
#include <cairn/http/serve.hpp>

#include "../examples/http_counter/http_counter.hpp"

namespace {

class hello : public cairn::actor {
 public:
  cairn::task<cairn::http::response> fetch(cairn::http::request) {
    co_return cairn::http::make_response(cairn::http::status::ok, "hello");
  }
};

}  // namespace

int main(int argc, char** argv) {
  cairn::serve::app app;
  app.add<hello>("hello");
  app.add<examples::http_counter>("counter");
  return app.main(argc, argv);
}
