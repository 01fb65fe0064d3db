// `serve`: config file and flags into runtime and server options, then run.
#include <cairn/http/serve.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace cairn::serve {

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

cairn::durability durability_from(std::string_view s, const std::string& where) {
  if (s == "full") return cairn::durability::full;
  if (s == "normal") return cairn::durability::normal;
  if (s == "memory") return cairn::durability::memory;
  bad(where + ": expected full, normal or memory, got '" + std::string(s) + "'");
}

std::uint64_t to_uint(const boost::json::value& v, const std::string& where, std::uint64_t max) {
  std::uint64_t n = 0;
  if (v.is_uint64()) n = v.as_uint64();
  else if (v.is_int64() && v.as_int64() >= 0) n = static_cast<std::uint64_t>(v.as_int64());
  else bad(where + ": expected a non-negative integer");
  if (n > max) bad(where + ": at most " + std::to_string(max));
  return n;
}

std::uint64_t to_uint(std::string_view s, const std::string& where, std::uint64_t max) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) bad(where + ": expected a non-negative integer, got '" + std::string(s) + "'");
  if (n > max) bad(where + ": at most " + std::to_string(max));
  return n;
}

const std::string& to_string(const boost::json::value& v, const std::string& where, std::string& out) {
  if (!v.is_string()) bad(where + ": expected a string");
  out = std::string(v.as_string());
  return out;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    auto item = s.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

constexpr std::uint64_t max_ms = 24ull * 3600 * 1000;

/// Whether the config exposes namespace `name` over HTTP.
bool exposes(const config& c, const std::string& name) {
  return c.expose.empty() || std::find(c.expose.begin(), c.expose.end(), name) != c.expose.end();
}

/// One setting, by the name the config file and the flags share.
void set(config& c, const std::string& key, const boost::json::value* jv, std::string_view flag_value) {
  const std::string where = "'" + key + "'";
  auto num = [&](std::uint64_t max) { return jv ? to_uint(*jv, where, max) : to_uint(flag_value, where, max); };
  auto str = [&]() {
    std::string s;
    if (jv) to_string(*jv, where, s);
    else s = std::string(flag_value);
    return s;
  };
  if (key == "address") c.http.address = str();
  else if (key == "port") c.http.port = static_cast<std::uint16_t>(num(65535));
  else if (key == "data_dir") c.runtime.data_dir = str();
  else if (key == "shards") c.runtime.shards = static_cast<unsigned>(num(1024));
  else if (key == "durability") c.runtime.durability = durability_from(str(), where);
  else if (key == "max_header_bytes") c.http.max_header_bytes = num(1u << 20);
  else if (key == "max_body_bytes") c.http.max_body_bytes = num(1ull << 32);
  else if (key == "read_timeout_ms") c.http.read_timeout = std::chrono::milliseconds(num(max_ms));
  else if (key == "idle_timeout_ms") c.http.idle_timeout = std::chrono::milliseconds(num(max_ms));
  else if (key == "write_timeout_ms") c.http.write_timeout = std::chrono::milliseconds(num(max_ms));
  else if (key == "max_connections") c.http.max_connections = num(10'000'000);
  else if (key == "max_websocket_message_bytes") c.http.max_websocket_message_bytes = num(1ull << 32);
  else if (key == "websocket_idle_timeout_ms") c.http.websocket_idle_timeout = std::chrono::milliseconds(num(max_ms));
  else if (key == "actor_idle_timeout_ms") c.runtime.idle_timeout = std::chrono::milliseconds(num(max_ms));
  else if (key == "max_resident_actors") c.runtime.max_resident_actors = num(std::numeric_limits<std::uint32_t>::max());
  else if (key == "secret") c.runtime.secret = str();
  else if (key == "max_send_queue_bytes") c.http.max_send_queue_bytes = num(1ull << 40);
  else if (key == "idle_spin_us") c.runtime.idle_spin = std::chrono::microseconds(num(1'000'000));
  else if (key == "commit_log_segment_mib") {
    const std::uint64_t mib = num(1u << 20);
    if (mib == 0) bad(where + ": at least 1");
    c.runtime.commit_log_segment_bytes = static_cast<std::size_t>(mib) << 20;
  }
  else if (key == "workers") {
    if (!jv) bad(where + ": set it in the config file");
    if (!jv->is_array()) bad(where + ": expected an array of worker objects");
    for (auto& e : jv->as_array())
      if (!e.is_object()) bad(where + ": expected an array of worker objects");
    c.workers = jv->as_array();
  } else if (key == "expose") {
    c.expose.clear();
    if (!jv) {
      c.expose = split_list(flag_value);
    } else {
      if (!jv->is_array()) bad(where + ": expected an array of namespace names");
      for (auto& e : jv->as_array()) {
        std::string s;
        c.expose.push_back(to_string(e, where, s));
      }
    }
  } else {
    bad("unknown setting '" + key + "'");
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad("cannot read the config file '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

config default_config() {
  config c;
  c.http.address = "127.0.0.1";
  c.http.port = 8080;
  c.runtime.data_dir = "cairn-data";
  return c;
}

void apply_json(config& c, std::string_view json_text) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(json_text, ec);
  if (ec) bad("the config is not valid JSON: " + ec.message());
  if (!doc.is_object()) bad("the config must be a JSON object");
  for (auto& [k, v] : doc.as_object()) set(c, std::string(k), &v, {});
}

void apply_flags(config& c, const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--")) bad("unexpected argument '" + a + "'");
    std::string key = a.substr(2), value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else {
      if (i + 1 >= args.size()) bad("flag " + a + " needs a value");
      value = args[++i];
    }
    for (auto& ch : key)
      if (ch == '-') ch = '_';
    if (key == "config") apply_json(c, read_file(value));
    else set(c, key, nullptr, value);
  }
}

std::string usage(std::string_view program) {
  std::string p(program);
  return "usage: " + p + " serve [--config FILE] [--address A] [--port N] [--data-dir DIR] [--shards N]\n"
         "       [--durability full|normal|memory] [--expose NS,NS...] [--max-connections N]\n"
         "       [--max-header-bytes N] [--max-body-bytes N] [--read-timeout-ms N] [--idle-timeout-ms N]\n"
         "       [--write-timeout-ms N] [--actor-idle-timeout-ms N] [--max-resident-actors N] [--secret S]\n"
         "       [--max-websocket-message-bytes N] [--websocket-idle-timeout-ms N] [--idle-spin-us N]\n"
         "       [--max-send-queue-bytes N] [--commit-log-segment-mib N]\n"
         "The config file is a JSON object with the same names (data_dir, max_connections, ...; expose is an array;\n"
         "workers, only in the file, lists JavaScript Workers and Durable Object classes: docs/js_actors.md).\n"
         "Flags after --config override it.\n";
}

void app::command(std::string name, std::string usage_line, std::function<int(const std::vector<std::string>&)> run) {
  commands_.push_back({std::move(name), std::move(usage_line), std::move(run)});
}

std::string app::help(std::string_view program) const {
  std::string h = usage(program);
  for (auto& c : commands_) h += "   or: " + std::string(program) + " " + c.usage + "\n";
  return h;
}

int app::main(int argc, char** argv) {
  const std::string program = argc > 0 ? argv[0] : "cairn";
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(help(program).c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  for (auto& c : commands_)
    if (args[0] == c.name) return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] != "serve") {
    std::fprintf(stderr, "%s: unknown command '%s'\n%s", program.c_str(), args[0].c_str(), help(program).c_str());
    return 2;
  }
  config c = default_config();
  try {
    apply_flags(c, std::vector<std::string>(args.begin() + 1, args.end()));
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s serve: %s\n", program.c_str(), e.what());
    return 2;
  }
  return run(c, [&](std::uint16_t port) {
    std::printf("cairn: serving on http://%s:%u/ (data: %s, durability %s)\n", c.http.address.c_str(), port,
                c.runtime.data_dir.c_str(), to_string(c.runtime.durability));
    for (auto& n : names_)
      if (exposes(c, n)) std::printf("cairn:   /%s/<name>/...\n", n.c_str());
    std::fflush(stdout);
  });
}

int app::run(const config& c, const std::function<void(std::uint16_t)>& on_ready) {
  for (auto& e : c.expose)
    if (std::find(names_.begin(), names_.end(), e) == names_.end()) {
      std::fprintf(stderr, "cairn serve: 'expose' names '%s', which is not a registered namespace\n", e.c_str());
      return 2;
    }
  try {
    runtime rt(c.runtime);
    rt.stop_on_signals();
    std::vector<std::shared_ptr<void>> provided;  // destroyed after rt.run(), before rt
    for (auto& make : makers_) provided.push_back(make(rt));
    http::router r;
    for (std::size_t i = 0; i < setups_.size(); ++i) setups_[i](rt, r, exposes(c, names_[i]));
    for (auto& f : extensions_) provided.push_back(f(c, rt, r));
    for (auto& f : extra_) f(rt, r);
    http::server srv(rt, std::move(r), c.http);
    srv.start();
    if (on_ready) on_ready(srv.port());
    rt.run();
  } catch (const std::invalid_argument& e) {  // a config an extension refused
    std::fprintf(stderr, "cairn serve: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn serve: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace cairn::serve
