#include "tenant_isolate.hpp"

#include "guest_scope.hpp"

namespace cairn::sandbox::detail {
namespace {

v8::ModifyCodeGenerationFromStringsResult no_code_from_strings(v8::Local<v8::Context>, v8::Local<v8::Value>, bool) {
  return {false, {}};  // eval, new Function and their async/generator kin throw EvalError
}

bool wasm_if_granted(v8::Local<v8::Context> ctx, v8::Local<v8::String>) {
  auto* s = guest_scope::of(ctx);
  return s && s->wasm_granted();
}

bool no_shared_array_buffer(v8::Local<v8::Context>) { return false; }

v8::MaybeLocal<v8::Promise> dynamic_import(v8::Local<v8::Context> ctx, v8::Local<v8::Data>,
                                           v8::Local<v8::Value> referrer, v8::Local<v8::String> specifier,
                                           v8::Local<v8::FixedArray>) {
  auto* s = guest_scope::of(ctx);
  if (!s) return {};
  return s->import_dynamically(ctx, referrer, specifier);
}

}  // namespace

tenant_isolate::tenant_isolate(isolate_key key) : key_(std::move(key)), alloc_(key_.array_buffer_bytes) {
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = alloc_.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, key_.heap_bytes);
  iso_ = v8::Isolate::New(params);
  iso_->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  iso_->SetModifyCodeGenerationFromStringsCallback(&no_code_from_strings);
  iso_->SetAllowWasmCodeGenerationCallback(&wasm_if_granted);
  iso_->SetSharedArrayBufferConstructorEnabledCallback(&no_shared_array_buffer);
  iso_->SetHostImportModuleDynamicallyCallback(&dynamic_import);
  iso_->SetCaptureStackTraceForUncaughtExceptions(true, 16);
  iso_->AddNearHeapLimitCallback(&tenant_isolate::near_heap_limit, this);
}

tenant_isolate::~tenant_isolate() {
  prelude.Reset();
  iso_->Dispose();
}

std::size_t tenant_isolate::heap_used() const {
  v8::HeapStatistics s;
  iso_->GetHeapStatistics(&s);
  return s.used_heap_size();
}

std::size_t tenant_isolate::near_heap_limit(void* self, std::size_t current, std::size_t) {
  auto* t = static_cast<tenant_isolate*>(self);
  t->heap_exceeded_ = true;
  t->iso_->TerminateExecution();
  // V8 aborts the process unless the limit rises while the termination
  // unwinds (DESIGN.md 6); the isolate is dropped right after.
  return current * 2;
}

}  // namespace cairn::sandbox::detail
