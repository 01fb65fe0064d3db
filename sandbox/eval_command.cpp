// `cairn eval`: flags -> worker_code -> one pool.run on a one-shard runtime.
#include <cairn/sandbox/eval_command.hpp>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cairn/runtime.hpp>
#include <cairn/sandbox/error.hpp>
#include <cairn/sandbox/pool.hpp>

namespace cairn::sandbox {
namespace {

std::uint64_t parse_count(const std::string& flag, const std::string& text, std::uint64_t max) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0 || v > max)
    throw std::invalid_argument(flag + ": expected a whole number from 1 to " + std::to_string(max) + ", got '" +
                                text + "'");
  return v;
}

boost::json::value parse_json(const std::string& flag, const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) throw std::invalid_argument(flag + ": not valid JSON (" + ec.message() + ")");
  return v;
}

std::string read_file(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) throw std::invalid_argument(p.string() + " is not a readable file");
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw std::invalid_argument("cannot read " + p.string());
  return std::move(s).str();
}

task<call_result> run_once(pool& p, worker_code code, boost::json::value input) {
  co_return co_await p.run(std::move(code), std::move(input));
}

void print_console(const std::string& console) {
  if (console.empty()) return;
  std::fputs(console.c_str(), stderr);
  if (console.back() != '\n') std::fputc('\n', stderr);
}

}  // namespace

eval_status eval_status_of(errc code) noexcept {
  if (is_limit(code)) return eval_status::limit;
  switch (code) {
    case errc::not_granted:
      return eval_status::not_granted;
    case errc::guest_exception:
    case errc::syntax_error:
    case errc::module_not_found:
    case errc::bad_entry_point:
    case errc::not_serializable:
    case errc::never_settles:
    case errc::invalid_code:
      return eval_status::guest_failed;
    default:
      return eval_status::internal;
  }
}

eval_options parse_eval_args(const std::vector<std::string>& args) {
  eval_options o;
  bool private_ok = false;
  constexpr std::uint64_t max_ms = 24ull * 3600 * 1000;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
      return args[++i];
    };
    if (a == "--input") o.input = parse_json(a, value());
    else if (a == "--env") {
      boost::json::value env = parse_json(a, value());
      if (!env.is_object()) throw std::invalid_argument("--env: expected a JSON object");
      o.env = std::move(env.as_object());
    } else if (a == "--module") o.modules.emplace_back(value());
    else if (a == "--allow-fetch") o.allow.emplace_back(value());
    else if (a == "--allow-private") private_ok = true;
    else if (a == "--cpu-ms") o.limits.cpu = std::chrono::milliseconds(parse_count(a, value(), max_ms));
    else if (a == "--wall-ms") o.limits.wall = std::chrono::milliseconds(parse_count(a, value(), max_ms));
    else if (a == "--memory-mb") o.limits.heap_bytes = parse_count(a, value(), 64 * 1024) << 20;
    else if (a == "--wasm") o.limits.wasm = true;
    else if (a.starts_with("-")) throw std::invalid_argument("unknown flag " + a);
    else if (o.file.empty()) o.file = a;
    else throw std::invalid_argument("one file only (more modules go with --module): " + a);
  }
  if (o.file.empty()) throw std::invalid_argument("no file to run");
  if (private_ok && o.allow.empty()) throw std::invalid_argument("--allow-private needs an --allow-fetch prefix");
  for (auto& r : o.allow) {
    if (r.prefix.empty()) throw std::invalid_argument("--allow-fetch: an empty prefix would allow everything");
    r.private_addresses = private_ok;
  }
  return o;
}

worker_code eval_code(const eval_options& options) {
  worker_code code;
  const std::filesystem::path base = options.file.parent_path();
  code.main = options.file.filename().string();
  code.modules[code.main] = read_file(options.file);
  for (auto& m : options.modules) {
    const std::string name = m.lexically_proximate(base.empty() ? "." : base).generic_string();
    if (name.starts_with("..")) throw std::invalid_argument("--module " + m.string() + " is outside the main file's folder");
    code.modules[name] = read_file(m);
  }
  code.env = options.env;
  code.limits = options.limits;
  if (!options.allow.empty()) code.fetch = fetch_policy::allow(options.allow);
  return code;
}

int eval_command(const std::vector<std::string>& args) {
  eval_options options;
  worker_code code;
  try {
    options = parse_eval_args(args);
    code = eval_code(options);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "cairn eval: %s\nusage: cairn %s\n", e.what(), eval_usage);
    return static_cast<int>(eval_status::usage);
  }
  try {
    runtime_options ro;
    ro.shards = 1;
    ro.durability = durability::memory;
    runtime rt(ro);
    pool_options po;
    po.threads = 1;
    po.webassembly = options.limits.wasm;  // one file, one process: without --wasm none is needed
    pool p(rt, po);
    call_result r = rt.block_on(run_once(p, std::move(code), std::move(options.input)));
    print_console(r.console);
    std::printf("%s\n", boost::json::serialize(r.value).c_str());
    return static_cast<int>(eval_status::ok);
  } catch (const error& e) {
    print_console(e.console());
    std::fprintf(stderr, "cairn eval: %s: %s\n", to_string(e.code()), e.what());
    if (!e.guest_stack().empty() && std::string_view(e.what()).find(e.guest_stack()) == std::string_view::npos)
      std::fprintf(stderr, "%s\n", e.guest_stack().c_str());
    return static_cast<int>(eval_status_of(e.code()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn eval: %s\n", e.what());
    return static_cast<int>(eval_status::internal);
  }
}

}  // namespace cairn::sandbox
