#pragma once
// One loaded worker: its own V8 context in its tenant's isolate, its compiled
// modules, its grants, and the calls ("runs") in progress on it. Guest code
// only ever executes inside slice(), with the watchdog armed for the run the
// slice belongs to. Lives on one pool thread. Private to sandbox/.
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>
#include <v8.h>

#include <cairn/sandbox/error.hpp>
#include <cairn/sandbox/worker_code.hpp>

#include "guest_scope.hpp"
#include "hop.hpp"
#include "tenant_isolate.hpp"

namespace cairn::sandbox::detail {

class v8_thread;

/// One load or call in progress.
struct run {
  enum class kind { load, call, fetch };
  std::uint64_t seq = 0;
  kind what = kind::call;
  hop* done = nullptr;
  v8::Global<v8::Promise> promise;
  std::chrono::nanoseconds cpu{0};
  std::string console;
  bool console_cut = false;
  unsigned requests = 0;
  unsigned host_calls = 0;
  std::size_t host_call_bytes = 0;  // their arguments, as JSON
  // Why the guest's failure is really a limit or a refusal, when it is.
  bool limited = false;
  errc limit_code = errc::guest_exception;
  std::string limit_why;
};

class worker_instance final : public guest_scope {
 public:
  worker_instance(v8_thread& thread, tenant_isolate& iso, std::uint64_t key, worker_code code);
  ~worker_instance();
  worker_instance(const worker_instance&) = delete;
  worker_instance& operator=(const worker_instance&) = delete;

  /// The worker a context belongs to.
  [[nodiscard]] static worker_instance* of(v8::Local<v8::Context> ctx);

  [[nodiscard]] std::uint64_t key() const noexcept { return key_; }
  [[nodiscard]] bool wasm_granted() const noexcept override { return code_.limits.wasm; }
  [[nodiscard]] std::size_t console_bytes() const noexcept override { return code_.limits.console_bytes; }
  void append_console(std::string_view level, std::string text) override;
  [[nodiscard]] worker_instance* worker() noexcept override { return this; }
  /// A limit or a failed load broke it: the thread drops it.
  [[nodiscard]] bool broken() const noexcept { return broken_; }
  [[nodiscard]] bool idle() const noexcept { return runs_.empty(); }

  // ---- pool thread ----
  /// Compiles the modules and evaluates the main module; `done` gets the
  /// worker's key or the error.
  void start_load(hop& done);
  void start_call(hop& done, boost::json::value input);
  void start_fetch(hop& done, outbound_request request);
  /// A host function (or fetch) the guest awaited has answered.
  struct host_answer {
    bool ok = true;
    boost::json::value value;
    outbound_response response;
    bool is_response = false;
    std::string error;
    errc code = errc::guest_exception;
  };
  void host_reply(std::uint64_t call, host_answer answer);
  /// The wall deadline of run `seq` passed.
  void expire(std::uint64_t seq);
  /// Fails every run (the pool is shutting down or the isolate went away).
  void abandon(errc code, const std::string& why);

 private:
  friend struct natives;
  struct host_call {
    v8::Global<v8::Promise::Resolver> resolver;
    std::uint64_t run = 0;
  };
  struct binding {
    worker_instance* self;
    std::string name;  // for messages: env.NAME
    host_function fn;
  };

  v8::Local<v8::Context> context() const { return ctx_.Get(iso_.get()); }
  run& new_run(run::kind k, hop& done);
  run* find_run(std::uint64_t seq);
  template <class Body>
  void slice(run& r, Body&& body);
  void settle(v8::Local<v8::Context> ctx);
  void complete(run& r, v8::Local<v8::Context> ctx, v8::Local<v8::Promise> p);
  void fail(run& r, sandbox::error e);
  void finish(run& r);
  void break_with(std::uint64_t seq, errc code, const std::string& why);
  void install_globals(v8::Local<v8::Context> ctx);
  v8::Local<v8::Object> make_env(v8::Local<v8::Context> ctx);
  std::uint64_t begin_host_call(v8::Local<v8::Context> ctx, v8::Local<v8::Promise::Resolver>& resolver);

  v8_thread& thread_;
  std::uint64_t key_;
  worker_code code_;
  v8::Global<v8::Context> ctx_;
  v8::Global<v8::Value> entry_;
  v8::Global<v8::Object> env_;
  std::vector<std::unique_ptr<binding>> bindings_;
  std::list<run> runs_;
  std::unordered_map<std::uint64_t, host_call> host_calls_;
  std::uint64_t next_host_call_ = 1;
  run* current_ = nullptr;
  bool broken_ = false;
};

}  // namespace cairn::sandbox::detail
