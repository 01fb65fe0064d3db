#pragma once
// The `cairn` binary (examples/serve) as a child process: `cairn serve` on a
// free port of 127.0.0.1, and one-shot commands such as `cairn eval`.
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace cairn_test {

struct server_process {
  /// Starts the server on a free port and waits for the line naming it.
  explicit server_process(const std::filesystem::path& data, std::vector<std::string> more = {})
      : p(args(data, std::move(more))) {
    auto line = p.read_line(std::chrono::seconds(30));
    static constexpr std::string_view prefix = "serving on http://127.0.0.1:";
    const auto at = line ? line->find(prefix) : std::string::npos;
    const auto end = at == std::string::npos ? at : line->find('/', at + prefix.size());
    if (end == std::string::npos) throw std::runtime_error("the server did not say where it listens");
    base = line->substr(at + 11, end - at - 11);  // from "http://"
  }
  static std::vector<std::string> args(const std::filesystem::path& data, std::vector<std::string> more) {
    std::vector<std::string> a{CAIRN_SERVER_BINARY, "serve", "--port",   "0",     "--data-dir",
                               data.string(),       "--durability", "normal", "--shards", "2"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  /// SIGTERM: a graceful stop. Returns the exit code.
  int stop() {
    p.signal(SIGTERM);
    const int status = p.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  child_process p;
  std::string base;  // http://127.0.0.1:PORT
};

struct command_result {
  int exit_code = -1;
  std::string out;  // stdout and stderr, in the order written
};

/// Runs `cairn args...` to its end (60 s at most).
inline command_result run_cairn(std::vector<std::string> args) {
  args.insert(args.begin(), CAIRN_SERVER_BINARY);
  child_process p(std::move(args), /*merge_stderr=*/true);
  command_result r;
  while (auto line = p.read_line(std::chrono::seconds(60))) r.out += *line + "\n";
  const int status = p.wait();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace cairn_test
