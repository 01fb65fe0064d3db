#pragma once
// The typed failure of a sandbox operation. The code tells the kind apart (a
// guest's exception, a limit, a capability it was not granted, bad code); the
// message is for people and carries the guest's stack where there is one.
#include <stdexcept>
#include <string>

namespace cairn::sandbox {

enum class errc {
  guest_exception,     // the guest threw or its promise rejected
  syntax_error,        // a module does not compile (message has module:line:column)
  module_not_found,    // an import names no module of the worker
  bad_entry_point,     // the main module lacks the default export the call needs
  not_serializable,    // a value crossing to the host is not plain data
  cpu_limit,           // limits::cpu
  wall_limit,          // limits::wall
  heap_limit,          // limits::heap_bytes (the isolate was replaced)
  array_buffer_limit,  // limits::array_buffer_bytes
  request_limit,       // limits::max_requests
  code_too_large,      // limits::code_bytes
  env_too_large,       // limits::env_bytes
  result_too_large,    // limits::result_bytes
  not_granted,         // a capability the worker was not given (fetch, an address, wasm)
  never_settles,       // the entry's promise waits for nothing that can happen
  loader_failed,       // the loader callback of pool::get threw
  worker_reset,        // another call broke the worker (a limit) while this one waited
  invalid_code,        // worker_code itself is malformed (no main module, bad name)
  shut_down,           // the pool is going away
};

/// A stable name for the code ("cpu_limit").
[[nodiscard]] const char* to_string(errc c) noexcept;
/// True for the codes of limits.
[[nodiscard]] bool is_limit(errc c) noexcept;

class error : public std::runtime_error {
 public:
  error(errc code, std::string message, std::string guest_stack = {})
      : std::runtime_error(std::move(message)), code_(code), stack_(std::move(guest_stack)) {}
  [[nodiscard]] errc code() const noexcept { return code_; }
  /// The guest's stack ("    at f (main.js:3:9)" lines), when the guest threw an Error.
  [[nodiscard]] const std::string& guest_stack() const noexcept { return stack_; }
  /// What the guest wrote to the console before the failure.
  [[nodiscard]] const std::string& console() const noexcept { return console_; }
  void set_console(std::string c) { console_ = std::move(c); }

 private:
  errc code_;
  std::string stack_;
  std::string console_;
};

}  // namespace cairn::sandbox
