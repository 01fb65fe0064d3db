// `cairn eval FILE.js`: the real binary; its output and exit status for each
// kind of outcome (success, guest failure, limit, capability not granted, bad
// usage), and fetch under an allowlist against a real server on 127.0.0.1.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>

#include "server_process.hpp"
#include "support.hpp"

namespace {

using cairn_test::run_cairn;

// Exit statuses (cairn/sandbox/eval_command.hpp).
constexpr int ok = 0, guest_failed = 1, usage = 2, limit = 3, not_granted = 4;

struct scripts {
  cairn_test::temp_dir dir;
  std::string write(const std::string& name, const std::string& source) {
    const auto p = dir.path() / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << source;
    return p.string();
  }
};

bool has(const std::string& out, std::string_view needle) { return out.find(needle) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(eval_command)

BOOST_AUTO_TEST_CASE(prints_the_result_and_the_console) {
  scripts s;
  s.write("lib/util.js", "export const twice = (n) => n * 2;\n");
  const auto main = s.write("main.js",
                            "import { twice } from './lib/util.js';\n"
                            "export default async function (input, env) {\n"
                            "  console.log('doubling', input.n);\n"
                            "  return { v: twice(input.n), k: env.k, url: new URL('HTTP://A.example:80/x').href };\n"
                            "}\n");
  auto r = run_cairn({"eval", main, "--module", (s.dir.path() / "lib/util.js").string(), "--input", R"({"n":21})",
                      "--env", R"({"k":"granted"})"});
  BOOST_TEST(r.exit_code == ok, r.out);
  BOOST_TEST(has(r.out, "doubling 21\n"), r.out);
  BOOST_TEST(has(r.out, R"({"v":42,"k":"granted","url":"http://a.example/x"})"), r.out);
}

BOOST_AUTO_TEST_CASE(guest_failures_exit_1_with_location) {
  scripts s;
  auto r = run_cairn({"eval", s.write("syntax.js", "export default () => {\n  let x = ;\n}\n")});
  BOOST_TEST(r.exit_code == guest_failed, r.out);
  BOOST_TEST(has(r.out, "syntax_error: syntax.js:2:11"), r.out);
  r = run_cairn({"eval", s.write("throws.js", "export default () => {\n  throw new TypeError('boom');\n}\n")});
  BOOST_TEST(r.exit_code == guest_failed, r.out);
  BOOST_TEST(has(r.out, "guest_exception: TypeError: boom"), r.out);
  BOOST_TEST(has(r.out, "throws.js:2:"), r.out);
  r = run_cairn({"eval", s.write("imports.js", "import fs from 'node:fs';\nexport default () => 1;\n")});
  BOOST_TEST(r.exit_code == guest_failed, r.out);
  BOOST_TEST(has(r.out, "module_not_found"), r.out);
  r = run_cairn({"eval", s.write("evil.js", "export default () => eval('1 + 1');\n")});
  BOOST_TEST(r.exit_code == guest_failed, r.out);
}

BOOST_AUTO_TEST_CASE(limits_exit_3) {
  scripts s;
  auto r = run_cairn({"eval", s.write("loop.js", "export default () => { for (;;) {} };\n"), "--cpu-ms", "50"});
  BOOST_TEST(r.exit_code == limit, r.out);
  BOOST_TEST(has(r.out, "cpu_limit"), r.out);
  r = run_cairn({"eval", s.write("bomb.js", "export default () => { const a = []; for (;;) a.push({ a }); };\n"),
                 "--memory-mb", "16", "--cpu-ms", "20000"});
  BOOST_TEST(r.exit_code == limit, r.out);
  BOOST_TEST(has(r.out, "heap_limit"), r.out);
}

BOOST_AUTO_TEST_CASE(webassembly_only_with_the_flag) {
  // Without --wasm the process runs V8 with WebAssembly off altogether.
  scripts s;
  const auto f = s.write("w.js",
                         "export default () => typeof WebAssembly === 'undefined' ? 'absent' :"
                         "  WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).length;\n");
  auto r = run_cairn({"eval", f});
  BOOST_TEST(r.exit_code == ok, r.out);
  BOOST_TEST(r.out == "\"absent\"\n");
  r = run_cairn({"eval", f, "--wasm"});
  BOOST_TEST(r.exit_code == ok, r.out);
  BOOST_TEST(r.out == "0\n");
}

BOOST_AUTO_TEST_CASE(fetch_needs_a_grant_and_private_addresses_another) {
  cairn_test::temp_dir data;
  cairn_test::server_process server(data.path());
  scripts s;
  const auto f = s.write("f.js", "export default async (url) => (await fetch(url + '/counter/e')).text();\n");
  const std::string input = "\"" + server.base + "\"";
  auto r = run_cairn({"eval", f, "--input", input});
  BOOST_TEST(r.exit_code == not_granted, r.out);
  BOOST_TEST(has(r.out, "not granted"), r.out);
  BOOST_TEST(has(r.out, "at default (f.js:1:"), r.out);  // the guest's frame, not the prelude's
  BOOST_TEST(!has(r.out, "cairn:prelude"), r.out);
  // Granted by prefix, but 127.0.0.1 is a loopback address: refused after resolution.
  r = run_cairn({"eval", f, "--input", input, "--allow-fetch", server.base + "/"});
  BOOST_TEST(r.exit_code == not_granted, r.out);
  r = run_cairn({"eval", f, "--input", input, "--allow-fetch", server.base + "/", "--allow-private"});
  BOOST_TEST(r.exit_code == ok, r.out);
  BOOST_TEST(has(r.out, "\"0\\n\""), r.out);
  // Another prefix of the same server is not granted.
  r = run_cairn({"eval", f, "--input", input, "--allow-fetch", server.base + "/room/", "--allow-private"});
  BOOST_TEST(r.exit_code == not_granted, r.out);
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(bad_usage_exits_2) {
  scripts s;
  const auto f = s.write("ok.js", "export default () => 1;\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"eval"},
           {"eval", f, "--cpu-ms", "0"},
           {"eval", f, "--cpu-ms"},
           {"eval", f, "--input", "{not json"},
           {"eval", f, "--env", "[1]"},
           {"eval", f, "--allow-private"},
           {"eval", f, "--frobnicate"},
           {"eval", f, f},
           {"eval", (s.dir.path() / "missing.js").string()},
           {"eval", s.dir.path().string()}}) {
    auto r = run_cairn(args);
    BOOST_TEST(r.exit_code == usage, r.out);
    BOOST_TEST(has(r.out, "usage: cairn eval"), r.out);
  }
  BOOST_TEST(run_cairn({"eval", f}).out == "1\n");
}

BOOST_AUTO_TEST_SUITE_END()
