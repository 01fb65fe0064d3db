#include <tuple>

#include "guest_scope.hpp"

#include <vector>

#include <cairn/sandbox/error.hpp>

#include "guest_error.hpp"
#include "values.hpp"

namespace cairn::sandbox::detail {
namespace {

// "lib/./a/../b.js" -> "lib/b.js"; false if it climbs above the root.
bool normalise_path(const std::string& in, std::string& out) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= in.size()) {
    const std::size_t j = std::min(in.find('/', i), in.size());
    std::string seg = in.substr(i, j - i);
    if (seg == "..") {
      if (parts.empty()) return false;
      parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(std::move(seg));
    }
    i = j + 1;
  }
  out.clear();
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return true;
}

}  // namespace

guest_scope::~guest_scope() = default;

v8::MaybeLocal<v8::Promise> guest_scope::fetch_outside_worker(v8::Local<v8::Context> ctx, outbound_request) {
  v8::Isolate* iso = ctx->GetIsolate();
  iso->ThrowException(v8::Exception::TypeError(
      v8::String::NewFromUtf8Literal(iso, "fetch is not available here: no outbound requests were granted")));
  return {};
}

guest_scope* guest_scope::of(v8::Local<v8::Context> ctx) {
  if (ctx.IsEmpty() || ctx->GetNumberOfEmbedderDataFields() <= static_cast<uint32_t>(tenant_isolate::worker_slot))
    return nullptr;
  return static_cast<guest_scope*>(ctx->GetAlignedPointerFromEmbedderData(tenant_isolate::worker_slot));
}

v8::Local<v8::Context> guest_scope::new_context() {
  v8::Isolate* iso = iso_.get();
  v8::EscapableHandleScope scope(iso);
  auto ctx = v8::Context::New(iso);
  ctx->SetAlignedPointerInEmbedderData(tenant_isolate::worker_slot, this);
  ctx->AllowCodeGenerationFromStrings(false);
  return scope.Escape(ctx);
}

void guest_scope::release() {
  modules_.clear();
  make_request.Reset();
  run_fetch.Reset();
  helpers.Reset();
}

void guest_scope::compile_modules(v8::Local<v8::Context> ctx, const std::map<std::string, std::string>& sources) {
  v8::Isolate* iso = iso_.get();
  int n = 0;
  for (const auto& [name, source] : sources) {
    if (n++ == 8) {
      known_ += ", ...";
    } else if (n < 8) {
      known_ += (known_.empty() ? "'" : ", '") + name + "'";
    }
    v8::TryCatch tc(iso);
    v8::ScriptOrigin origin(iso, v8_string(iso, name), 0, 0, false, -1, v8::Local<v8::Value>(), false, false, true);
    v8::ScriptCompiler::Source src(v8_string(iso, source), origin);
    v8::Local<v8::Module> m;
    if (!v8::ScriptCompiler::CompileModule(iso, &src).ToLocal(&m))
      throw error(errc::syntax_error, describe_compile_error(ctx, tc));
    modules_[name].Reset(iso, m);
  }
}

v8::MaybeLocal<v8::Module> guest_scope::module(const std::string& name) {
  auto it = modules_.find(name);
  if (it == modules_.end()) return {};
  return it->second.Get(iso_.get());
}

v8::MaybeLocal<v8::Value> guest_scope::evaluate(v8::Local<v8::Context> ctx, const std::string& name) {
  v8::Local<v8::Module> m;
  if (!module(name).ToLocal(&m)) return {};
  if (!m->InstantiateModule(ctx, &resolve_static).FromMaybe(false)) return {};
  return m->Evaluate(ctx);
}

v8::MaybeLocal<v8::Module> guest_scope::resolve(const std::string& from, const std::string& spec) {
  v8::Isolate* iso = iso_.get();
  std::string target = spec;
  bool ok = true;
  if (spec.starts_with("./") || spec.starts_with("../")) {
    const auto slash = from.rfind('/');
    ok = normalise_path((slash == std::string::npos ? std::string() : from.substr(0, slash + 1)) + spec, target);
  } else if (spec.starts_with("/")) {
    ok = normalise_path(spec, target);
  }
  if (ok) {
    auto it = modules_.find(target);
    if (it != modules_.end()) return it->second.Get(iso);
  }
  module_missing_ = true;
  iso->ThrowException(v8::Exception::Error(v8_string(
      iso, "Cannot import '" + spec + "' from '" + from + "': only the worker's own modules can be imported (" + known_ +
               ")")));
  return {};
}

v8::MaybeLocal<v8::Module> guest_scope::resolve_static(v8::Local<v8::Context> ctx, v8::Local<v8::String> spec,
                                                       v8::Local<v8::FixedArray>, v8::Local<v8::Module> referrer) {
  auto* s = of(ctx);
  v8::Isolate* iso = ctx->GetIsolate();
  std::string from;
  for (const auto& [name, m] : s->modules_)
    if (m.Get(iso) == referrer) from = name;
  return s->resolve(from, utf8(iso, spec));
}

v8::MaybeLocal<v8::Promise> guest_scope::import_dynamically(v8::Local<v8::Context> ctx, v8::Local<v8::Value> referrer,
                                                            v8::Local<v8::String> specifier) {
  v8::Isolate* iso = iso_.get();
  v8::EscapableHandleScope scope(iso);
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(ctx).ToLocal(&resolver)) return {};
  v8::TryCatch tc(iso);
  v8::Local<v8::Module> m;
  v8::Local<v8::Value> evaluated;
  if (!resolve(utf8(iso, referrer), utf8(iso, specifier)).ToLocal(&m) ||
      !m->InstantiateModule(ctx, &resolve_static).FromMaybe(false) || !m->Evaluate(ctx).ToLocal(&evaluated)) {
    if (tc.HasTerminated()) return {};
    std::ignore = resolver->Reject(ctx, tc.Exception());
    return scope.Escape(resolver->GetPromise());
  }
  // Resolve with the namespace once the evaluation has settled.
  auto ns = m->GetModuleNamespace();
  auto give_ns = v8::Function::New(
                     ctx, [](const v8::FunctionCallbackInfo<v8::Value>& info) { info.GetReturnValue().Set(info.Data()); },
                     ns)
                     .ToLocalChecked();
  v8::Local<v8::Promise> chained;
  if (!evaluated.As<v8::Promise>()->Then(ctx, give_ns).ToLocal(&chained)) return {};
  std::ignore = resolver->Resolve(ctx, chained);
  return scope.Escape(resolver->GetPromise());
}

}  // namespace cairn::sandbox::detail
