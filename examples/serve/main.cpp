// The `cairn` executable: `cairn serve` with the example actors (and the
// JavaScript ones a config's "workers" names), and `cairn eval FILE.js` (the
// sandbox from the command line).
//
//   cairn serve [--port 8080] [--data-dir cairn-data] [--config cairn.json] ...
//   cairn eval script.js [--input JSON] [--allow-fetch PREFIX] ...
//
// A server of your own is the same few lines with your classes.
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>

#include <cairn/http/serve.hpp>
#include <cairn/js/serve.hpp>
#include <cairn/sandbox.hpp>
#include <cairn/sandbox/eval_command.hpp>

#include "../coder/coder.hpp"
#include "../http_counter/http_counter.hpp"
#include "../rate_limiter/rate_limiter.hpp"
#include "../room/room.hpp"
#include "sandbox_routes.hpp"

namespace {

// The coder agents' fetch allowlist: CAIRN_CODER_FETCH (URL prefixes separated
// by spaces; default https://api.github.com/). CAIRN_CODER_FETCH_PRIVATE=1
// lets them reach loopback and private addresses (for local tests).
std::unique_ptr<examples::coder_settings> coder_settings_from_env() {
  auto s = std::make_unique<examples::coder_settings>();
  const char* list = std::getenv("CAIRN_CODER_FETCH");
  const char* priv = std::getenv("CAIRN_CODER_FETCH_PRIVATE");
  const bool private_ok = priv && std::string(priv) == "1";
  std::istringstream prefixes(list ? list : "https://api.github.com/");
  for (std::string p; prefixes >> p;) s->allow.emplace_back(p, private_ok);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  cairn::serve::app app;
  app.add<examples::http_counter>("counter");
  app.add<examples::room>("room");
  app.add<examples::coder>("coder");
  app.add<examples::rate_limiter>("limiter");
  // JavaScript Workers and Durable Objects from the config's "workers"
  // (examples/js/cairn.json); they may bind the native rate limiter.
  cairn::js::serve_workers js(app);
  js.offer<examples::rate_limiter>("limiter");
  app.provide<cairn::sandbox::pool>([](cairn::runtime& rt) {
    cairn::sandbox::pool_options o;
    o.webassembly = false;  // nothing here grants wasm; contexts are cheaper without it
    return std::make_unique<cairn::sandbox::pool>(rt, o);
  });
  app.provide<examples::coder_settings>([](cairn::runtime&) { return coder_settings_from_env(); });
  app.routes(examples::add_sandbox_routes);
  app.command("eval", cairn::sandbox::eval_usage,
              [](const std::vector<std::string>& args) { return cairn::sandbox::eval_command(args); });
  return app.main(argc, argv);
}
