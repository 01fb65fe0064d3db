#include <cairn/js/serve.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json.hpp>

namespace cairn::js {
namespace json = boost::json;

namespace {

[[noreturn]] void bad(const std::string& why) { throw std::invalid_argument("workers: " + why); }

std::string read_file(const std::filesystem::path& p, const std::string& where) {
  std::ifstream in(p, std::ios::binary);
  if (!in) bad(where + ": cannot read '" + p.string() + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const json::object* object_at(const json::object& o, const char* key, const std::string& where) {
  const auto* v = o.if_contains(key);
  if (!v) return nullptr;
  if (!v->is_object()) bad(where + "." + key + ": expected an object");
  return &v->as_object();
}

std::string string_at(const json::value& v, const std::string& where) {
  if (!v.is_string()) bad(where + ": expected a string");
  return std::string(v.as_string());
}

// The request as the Worker sees it: without the route's prefix.
task<http::response> strip_and_call(std::string prefix, std::function<task<http::response>(http::request)> worker,
                                    http::request req) {
  std::string target(req.target());
  if (prefix != "/" && target.starts_with(prefix)) {
    target.erase(0, prefix.size());
    if (target.empty() || target[0] != '/') target.insert(target.begin(), '/');
    req.target(target);
  }
  co_return co_await worker(std::move(req));
}

struct one_worker {
  std::string route;  // empty: no Worker, the module's classes only
  js_class script;
  std::map<std::string, std::string> classes;  // binding -> class name
};

one_worker parse(const json::value& v, std::size_t index) {
  const std::string where = "workers[" + std::to_string(index) + "]";
  const auto& o = v.as_object();
  for (const auto& kv : o) {
    static const char* known[] = {"main", "modules", "route", "durable_objects", "bindings", "vars", "cpu_ms", "cpu_event_ms", "wall_ms", "fetch"};
    if (std::find(std::begin(known), std::end(known), std::string_view(kv.key())) == std::end(known))
      bad(where + ": unknown key '" + std::string(kv.key()) + "'");
  }
  one_worker w;
  const auto* main = o.if_contains("main");
  if (!main) bad(where + ": 'main' names the module file");
  const std::filesystem::path main_path = string_at(*main, where + ".main");
  const auto dir = main_path.parent_path();
  w.script.main = main_path.filename().string();
  w.script.modules[w.script.main] = read_file(main_path, where + ".main");
  if (const auto* mods = o.if_contains("modules")) {
    if (!mods->is_array()) bad(where + ".modules: expected an array of paths");
    for (const auto& m : mods->as_array()) {
      const std::string rel = string_at(m, where + ".modules[]");
      w.script.modules[rel] = read_file(dir / rel, where + ".modules");
    }
  }
  if (const auto* r = o.if_contains("route")) {
    w.route = string_at(*r, where + ".route");
    if (!w.route.starts_with("/")) bad(where + ".route: must start with '/'");
    while (w.route.size() > 1 && w.route.ends_with('/')) w.route.pop_back();
  }
  if (const auto* dos = object_at(o, "durable_objects", where))
    for (const auto& kv : *dos) {
      w.classes[std::string(kv.key())] = string_at(kv.value(), where + ".durable_objects." + std::string(kv.key()));
      w.script.bindings[std::string(kv.key())] = std::string(kv.key());
    }
  if (const auto* b = object_at(o, "bindings", where))
    for (const auto& kv : *b)
      w.script.bindings[std::string(kv.key())] = string_at(kv.value(), where + ".bindings." + std::string(kv.key()));
  if (const auto* vars = object_at(o, "vars", where)) w.script.vars = *vars;
  if (const auto* cpu = o.if_contains("cpu_ms")) {
    if (!cpu->is_int64() || cpu->as_int64() < 1) bad(where + ".cpu_ms: expected a positive integer");
    w.script.limits.cpu_per_slice = std::chrono::milliseconds(cpu->as_int64());
  }
  if (const auto* f = o.if_contains("fetch")) {
    const std::string at = where + ".fetch";
    if (!f->is_array()) bad(at + ": expected an array of URL prefixes (or {\"prefix\", \"private\"} objects)");
    std::vector<sandbox::allow_rule> rules;
    for (const auto& r : f->as_array()) {
      if (r.is_string()) {
        rules.emplace_back(std::string(r.as_string()));
        continue;
      }
      const auto* prefix = r.is_object() ? r.as_object().if_contains("prefix") : nullptr;
      const auto* priv = r.is_object() ? r.as_object().if_contains("private") : nullptr;
      if (!prefix || !prefix->is_string() || (priv && !priv->is_bool()) || r.as_object().size() != (priv ? 2u : 1u))
        bad(at + "[]: expected a URL prefix, or {\"prefix\": \"https://...\", \"private\": true}");
      rules.emplace_back(std::string(prefix->as_string()), priv && priv->as_bool());
    }
    for (const auto& r : rules)
      if (!r.prefix.starts_with("http://") && !r.prefix.starts_with("https://"))
        bad(at + ": '" + r.prefix + "' is not an http:// or https:// URL prefix");
    w.script.fetch.policy = sandbox::fetch_policy::allow(std::move(rules));
  }
  if (const auto* cpu = o.if_contains("cpu_event_ms")) {
    if (!cpu->is_int64() || cpu->as_int64() < 0) bad(where + ".cpu_event_ms: expected a non-negative integer");
    w.script.limits.cpu_per_event = std::chrono::milliseconds(cpu->as_int64());
  }
  if (const auto* wall = o.if_contains("wall_ms")) {
    if (!wall->is_int64() || wall->as_int64() < 0) bad(where + ".wall_ms: expected a non-negative integer");
    w.script.limits.wall_per_event = std::chrono::milliseconds(wall->as_int64());
  }
  return w;
}

}  // namespace

serve_workers::serve_workers(serve::app& app) {
  app.extend([offers = offers_](const serve::config& c, runtime& rt, http::router& r) -> std::shared_ptr<void> {
    std::vector<one_worker> workers;
    for (std::size_t i = 0; i < c.workers.size(); ++i) workers.push_back(parse(c.workers[i], i));
    auto reg = std::make_shared<registry>(rt);
    for (auto& offer : *offers) offer(rt, *reg);
    for (auto& w : workers) {
      for (const auto& [binding, cls] : w.classes) {
        js_class k = w.script;
        k.class_name = cls;
        r.expose(binding, reg->add(binding, std::move(k)));
      }
      if (!w.route.empty()) {
        auto handler = reg->worker(w.script.main, w.script);
        r.add(w.route, [prefix = w.route, handler](http::request req) {
          return strip_and_call(prefix, handler, std::move(req));
        });
      }
    }
    return reg;
  });
}

}  // namespace cairn::js
