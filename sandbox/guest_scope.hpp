#pragma once
// What the sandbox's natives and module loader need from the code they serve:
// one V8 context with its isolate, its ES modules, its console and the
// prelude's helpers. A sandboxed worker (worker_instance) is one; the context
// of a JavaScript actor class (actors/js) is another. Private to sandbox/ and
// its hosts.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include <v8.h>

#include <cairn/sandbox/fetch_policy.hpp>

#include "tenant_isolate.hpp"

namespace cairn::sandbox::detail {

class worker_instance;

class guest_scope {
 public:
  explicit guest_scope(tenant_isolate& iso) noexcept : iso_(iso) {}
  virtual ~guest_scope();
  guest_scope(const guest_scope&) = delete;
  guest_scope& operator=(const guest_scope&) = delete;

  /// The scope a context belongs to (nullptr for a context not made by new_context).
  [[nodiscard]] static guest_scope* of(v8::Local<v8::Context> ctx);

  [[nodiscard]] tenant_isolate& isolate() noexcept { return iso_; }
  [[nodiscard]] virtual bool wasm_granted() const noexcept = 0;
  /// The most console output kept per call (a longer line is cut).
  [[nodiscard]] virtual std::size_t console_bytes() const noexcept = 0;
  virtual void append_console(std::string_view level, std::string text) = 0;
  /// The sandboxed worker behind this scope, if it is one: grants (env
  /// functions, fetch policies) belong to workers.
  [[nodiscard]] virtual worker_instance* worker() noexcept { return nullptr; }
  /// The guest's fetch in a scope that is not a sandboxed worker (a worker
  /// fetches under its own policy): a promise of what
  /// natives::make_response_init makes of the answer, or empty with an
  /// exception pending. The default refuses.
  virtual v8::MaybeLocal<v8::Promise> fetch_outside_worker(v8::Local<v8::Context> ctx, outbound_request req);

  // ---- ES modules: imports resolve only among the sources given ----
  /// Compiles every module; throws sandbox::error(syntax_error) naming module:line:column.
  void compile_modules(v8::Local<v8::Context> ctx, const std::map<std::string, std::string>& sources);
  /// A compiled module by name (empty if there is none).
  [[nodiscard]] v8::MaybeLocal<v8::Module> module(const std::string& name);
  /// Instantiates and evaluates module `name`; empty with an exception pending on failure.
  v8::MaybeLocal<v8::Value> evaluate(v8::Local<v8::Context> ctx, const std::string& name);
  /// An import of a module that is not among the sources was refused.
  [[nodiscard]] bool module_missing() const noexcept { return module_missing_; }
  v8::MaybeLocal<v8::Promise> import_dynamically(v8::Local<v8::Context> ctx, v8::Local<v8::Value> referrer,
                                                 v8::Local<v8::String> specifier);

  /// The prelude's helpers once it ran in this context (natives::helpers),
  /// and the two that every fetch handler call uses, looked up once.
  v8::Global<v8::Object> helpers;
  v8::Global<v8::Function> make_request;
  v8::Global<v8::Function> run_fetch;

 protected:
  /// A new context bound to this scope, with code generation from strings off.
  v8::Local<v8::Context> new_context();
  /// Drops the compiled modules and the helpers (before the context goes).
  void release();  // (also the helpers)

  /// The resolver to give Module::InstantiateModule.
  static v8::MaybeLocal<v8::Module> resolve_static(v8::Local<v8::Context> ctx, v8::Local<v8::String> spec,
                                                   v8::Local<v8::FixedArray>, v8::Local<v8::Module> referrer);

  tenant_isolate& iso_;

 private:
  v8::MaybeLocal<v8::Module> resolve(const std::string& from, const std::string& spec);

  std::unordered_map<std::string, v8::Global<v8::Module>> modules_;
  std::string known_;  // the first module names, for the message of a refused import
  bool module_missing_ = false;
};

}  // namespace cairn::sandbox::detail
