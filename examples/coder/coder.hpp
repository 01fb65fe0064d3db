#pragma once
// An agent that runs code an LLM wrote. Each run gets exactly two things from
// the host: one function, `env.recall(n)`, which returns this agent's last n
// stored results, and `fetch` limited to the allowlist of coder_settings. The
// outcome of every run (result or typed error, and the console) is stored in
// the agent's own SQLite database.
//
//   POST /coder/<name>   {"code": "<ES module>", "input": <JSON>}   runs it:
//        200 {"run": N, "result": ..., "console": "..."}
//        422 {"run": N, "error": "cpu_limit", "message": "...", "console": "..."}
//   GET  /coder/<name>   the stored runs, newest first
//
// The module's default export is `async function (input, env)`, e.g.
//   export default async function (input, env) {
//     const past = await env.recall(3);
//     return { sum: input.a + input.b, seen: past.length };
//   }
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include <cairn/cairn.hpp>
#include <cairn/http/message.hpp>
#include <cairn/sandbox.hpp>
#include <cairn/storage.hpp>

namespace examples {

/// What every coder run may reach, provided to the runtime by the program.
struct coder_settings {
  std::vector<cairn::sandbox::allow_rule> allow;  // fetch allowlist (none: fetch is not granted)
  cairn::sandbox::limits limits;
};

class coder : public cairn::actor {
 public:
  static constexpr std::size_t kept_runs = 100;
  static constexpr std::int64_t max_recall = 20;

  cairn::task<cairn::http::response> fetch(cairn::http::request req) {
    using namespace cairn::http;
    open_tables();
    if (req.method() == verb::get) co_return json_response(status::ok, runs(kept_runs));
    if (req.method() != verb::post) co_return make_response(status::method_not_allowed, "GET or POST\n");
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(req.body(), ec);
    if (ec || !body.is_object() || !body.as_object().contains("code") || !body.at("code").is_string())
      co_return make_response(status::bad_request, "the body is a JSON object {\"code\": \"<ES module>\", \"input\": ...}\n");
    // Named, not built inside the co_await: GCC 12 mishandles temporaries there.
    std::string source(body.at("code").as_string());
    boost::json::value input;
    if (const auto* in = body.as_object().if_contains("input")) input = *in;
    co_return co_await run(std::move(source), std::move(input));
  }

 private:
  cairn::task<cairn::http::response> run(std::string source, boost::json::value input) {
    using namespace cairn::http;
    const auto& settings = runtime().service<coder_settings>();
    cairn::sandbox::worker_code code;
    code.modules["main.js"] = std::move(source);
    code.main = "main.js";
    code.tenant = id().to_string();  // one tenant per agent: agents never share an isolate
    code.limits = settings.limits;
    if (!settings.allow.empty()) code.fetch = cairn::sandbox::fetch_policy::allow(settings.allow);
    // Through the mailbox, not `this`: a call the guest never awaited may end
    // after this handler (and this instance) is gone.
    code.functions["recall"] = [self = cairn::actor_ref<coder>(id())](boost::json::array args) {
      return recall_via(self, std::move(args));
    };

    boost::json::object out;
    status st = status::ok;
    try {
      auto w = co_await runtime().service<cairn::sandbox::pool>().load(std::move(code));
      cairn::sandbox::call_result r = co_await w.call(std::move(input));
      out["result"] = std::move(r.value);
      out["console"] = std::move(r.console);
    } catch (const cairn::sandbox::error& e) {
      st = status::unprocessable_entity;
      out["error"] = cairn::sandbox::to_string(e.code());
      out["message"] = e.what();
      out["console"] = e.console();
    }
    const std::string stored = boost::json::serialize(out);
    storage().exec("INSERT INTO runs(outcome, at) VALUES (?, ?)", stored, now_ms());
    storage().exec("DELETE FROM runs WHERE id <= (SELECT MAX(id) FROM runs) - ?", static_cast<std::int64_t>(kept_runs));
    out["run"] = storage().exec("SELECT MAX(id) AS id FROM runs").one().at("id");
    co_return json_response(st, boost::json::value(std::move(out)));
  }

  static cairn::task<boost::json::value> recall_via(cairn::actor_ref<coder> self, boost::json::array args) {
    co_return co_await self.call(&coder::recall, std::move(args));
  }

 public:
  // The one host function: the last n outcomes, newest first.
  cairn::task<boost::json::value> recall(boost::json::array args) {
    open_tables();
    std::int64_t n = 1;
    if (!args.empty()) {
      if (!args[0].is_int64() || args[0].as_int64() < 0 || args[0].as_int64() > max_recall)
        throw std::invalid_argument("recall(n): n is a whole number from 0 to " + std::to_string(max_recall));
      n = args[0].as_int64();
    }
    co_return runs(static_cast<std::size_t>(n));
  }

 private:
  boost::json::value runs(std::size_t n) {
    boost::json::array out;
    auto rows = storage().exec("SELECT id, outcome, at FROM runs ORDER BY id DESC LIMIT ?", static_cast<std::int64_t>(n));
    for (const auto& row : rows.to_json()) {
      boost::json::object o = boost::json::parse(row.at("outcome").as_string()).as_object();
      o["run"] = row.at("id");
      o["at"] = row.at("at");
      out.push_back(std::move(o));
    }
    return out;
  }

  void open_tables() {
    if (tables_open_) return;
    storage().exec("CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, outcome TEXT NOT NULL, at INTEGER NOT NULL)");
    tables_open_ = true;
  }

  static std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }

  static cairn::http::response json_response(cairn::http::status st, const boost::json::value& v) {
    return cairn::http::make_response(st, boost::json::serialize(v) + "\n", "application/json");
  }

  bool tables_open_ = false;
};

}  // namespace examples
