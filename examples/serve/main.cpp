// The `cairn` executable: `cairn serve` with the example actors.
//
//   cairn serve [--port 8080] [--data-dir cairn-data] [--config cairn.json] ...
//
// A server of your own is the same few lines with your classes.
#include <cairn/http/serve.hpp>

#include "../http_counter/http_counter.hpp"
#include "../room/room.hpp"

int main(int argc, char** argv) {
  cairn::serve::app app;
  app.add<examples::http_counter>("counter");
  app.add<examples::room>("room");
  return app.main(argc, argv);
}
