#pragma once
/// `cairn serve`: a server program from a JSON config file and flags, with the
/// actor classes its author registers. A whole server:
///
///   int main(int argc, char** argv) {
///     cairn::serve::app app;
///     app.add<my_agent>("agent");          // exposed at /agent/<name>/...
///     return app.main(argc, argv);         // `prog serve --config cairn.json --port 8080`
///   }
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

#include <cairn/http/router.hpp>
#include <cairn/http/server.hpp>
#include <cairn/runtime.hpp>

namespace cairn::serve {

/// Everything `serve` reads from the config file and the flags.
struct config {
  runtime_options runtime;
  http::server_options http;
  /// Namespaces to expose over HTTP (empty: every registered one).
  std::vector<std::string> expose;
  /// The "workers" array as written (JavaScript Workers and Durable Object
  /// classes, read by cairn::js::serve_workers; each entry an object).
  boost::json::array workers;
};

/// The defaults of `serve`: 127.0.0.1:8080, data in ./cairn-data, `full`.
[[nodiscard]] config default_config();
/// Applies a JSON config document over `c`. Throws std::invalid_argument
/// naming the key for an unknown key, a wrong type or a value out of range.
void apply_json(config& c, std::string_view json_text);
/// Applies `--flag value` pairs over `c` (`--config FILE` reads a file with
/// apply_json first, wherever it appears). Throws std::invalid_argument.
void apply_flags(config& c, const std::vector<std::string>& args);
/// The help text for the flags.
[[nodiscard]] std::string usage(std::string_view program);

class app {
 public:
  /// Registers actor class T as namespace `name`, exposed over HTTP unless
  /// the config's `expose` list leaves it out.
  template <http::fetchable T>
  void add(std::string name, namespace_options options = {}) {
    names_.push_back(name);
    setups_.push_back([name, options](runtime& rt, http::router& r, bool exposed) {
      auto ns = rt.register_namespace<T>(name, options);
      if (exposed) r.expose(name, ns);
    });
  }
  /// Adds routes of the program's own (run once the runtime exists).
  void routes(std::function<void(runtime&, http::router&)> f) { extra_.push_back(std::move(f)); }
  /// An object the actors use (a sandbox pool, a client): `make(rt)` builds
  /// it once the runtime exists, actors reach it as `runtime().service<T>()`,
  /// and it is destroyed after the runtime has stopped.
  template <class T>
  void provide(std::function<std::unique_ptr<T>(runtime&)> make) {
    makers_.push_back([make = std::move(make)](runtime& rt) -> std::shared_ptr<void> {
      std::shared_ptr<T> object = make(rt);
      rt.provide(*object);
      return object;
    });
  }
  /// A part of the server that the config shapes (JavaScript workers, for
  /// instance): runs once the runtime exists and the classes added with add()
  /// are registered, before it starts; what it returns lives as long as the
  /// runtime runs. It may throw std::invalid_argument for a bad config.
  void extend(std::function<std::shared_ptr<void>(const config&, runtime&, http::router&)> f) {
    extensions_.push_back(std::move(f));
  }
  /// Another command of the program, `prog <name> args...`: `run` gets the
  /// arguments after the name and returns the exit code. `usage` is its line
  /// in the help text.
  void command(std::string name, std::string usage, std::function<int(const std::vector<std::string>&)> run);

  /// `serve [flags]` (or another command()): serve runs until SIGINT or
  /// SIGTERM. Returns the exit code (2 for bad flags or config, with the
  /// reason on stderr).
  int main(int argc, char** argv);
  /// Runs with a parsed config; `on_ready(port)` is called once listening.
  int run(const config& c, const std::function<void(std::uint16_t)>& on_ready = {});

 private:
  std::vector<std::string> names_;
  std::vector<std::function<void(runtime&, http::router&, bool)>> setups_;
  std::vector<std::function<void(runtime&, http::router&)>> extra_;
  std::vector<std::function<std::shared_ptr<void>(runtime&)>> makers_;
  std::vector<std::function<std::shared_ptr<void>(const config&, runtime&, http::router&)>> extensions_;
  struct named_command {
    std::string name, usage;
    std::function<int(const std::vector<std::string>&)> run;
  };
  std::vector<named_command> commands_;
  [[nodiscard]] std::string help(std::string_view program) const;
};

}  // namespace cairn::serve
