#pragma once
// `cairn eval FILE.js`: runs one file in the sandbox from the command line and
// prints the result (JSON, on stdout) and the guest's console (on stderr).
// The exit status tells the kinds of outcome apart, so scripts can branch on
// it without parsing messages.
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include <cairn/sandbox/error.hpp>
#include <cairn/sandbox/worker_code.hpp>

namespace cairn::sandbox {

/// Exit statuses of `cairn eval`.
enum class eval_status : int {
  ok = 0,
  guest_failed = 1,  // an exception, a syntax error, a missing module or entry point, a result not plain data
  usage = 2,         // bad flags, an unreadable file, --input that is not JSON
  limit = 3,         // a limit (cpu_limit, heap_limit, ...)
  not_granted = 4,   // a capability it was not given (fetch, an address, wasm)
  internal = 5,      // anything else (the pool shut down)
};

/// The exit status for an error code of the sandbox.
[[nodiscard]] eval_status eval_status_of(errc code) noexcept;

/// What the flags say.
struct eval_options {
  std::filesystem::path file;
  /// --module FILE: more modules the main one may import, named by their path
  /// relative to the main file's folder.
  std::vector<std::filesystem::path> modules;
  boost::json::value input;          // --input JSON (default null)
  boost::json::object env;           // --env JSON object
  std::vector<allow_rule> allow;     // --allow-fetch PREFIX (with --allow-private: private addresses too)
  sandbox::limits limits;            // --cpu-ms, --wall-ms, --memory-mb, --wasm
};

/// Parses the arguments after `eval`. Throws std::invalid_argument with a
/// sentence naming the flag.
[[nodiscard]] eval_options parse_eval_args(const std::vector<std::string>& args);

/// Reads the files of `options` into worker code. Throws std::invalid_argument
/// for a file that cannot be read.
[[nodiscard]] worker_code eval_code(const eval_options& options);

/// The whole command: arguments after `eval`; returns the exit status.
int eval_command(const std::vector<std::string>& args);

/// The command's line in a help text.
inline constexpr const char* eval_usage =
    "eval FILE.js [--input JSON] [--env JSON] [--module FILE]... [--allow-fetch PREFIX]... [--allow-private]\n"
    "       [--cpu-ms N] [--wall-ms N] [--memory-mb N] [--wasm]";

}  // namespace cairn::sandbox
