#pragma once
// Turns what the guest threw into a sandbox::error with its message and stack,
// reading only data properties (no guest code runs). Private to sandbox/.
#include <string>

#include <v8.h>

#include <cairn/sandbox/error.hpp>

namespace cairn::sandbox::detail {

/// "TypeError: x is not a function" and the "    at f (main.js:3:9)" lines of
/// a thrown value.
struct thrown {
  std::string message;
  std::string stack;
};
thrown describe_thrown(v8::Local<v8::Context> ctx, v8::Local<v8::Value> exception);

/// "main.js:3:10: SyntaxError: Unexpected token ')'" from a compile failure.
std::string describe_compile_error(v8::Local<v8::Context> ctx, const v8::TryCatch& tc);

}  // namespace cairn::sandbox::detail
