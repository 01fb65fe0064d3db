// V8 from Debian's libnode links and runs: an isolate evaluates a script.
// (The sandbox pool of a later issue builds on this.)
#include <libplatform/libplatform.h>
#include <v8.h>

#include <cstdio>
#include <cstring>
#include <memory>

int main() {
  std::unique_ptr<v8::Platform> platform = v8::platform::NewDefaultPlatform();
  v8::V8::InitializePlatform(platform.get());
  v8::V8::Initialize();
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = v8::ArrayBuffer::Allocator::NewDefaultAllocator();
  v8::Isolate* isolate = v8::Isolate::New(params);
  int rc = 1;
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Local<v8::Context> context = v8::Context::New(isolate);
    v8::Context::Scope context_scope(context);
    auto source = v8::String::NewFromUtf8Literal(isolate, "[1, 2, 3].map(x => x * 7).join(',')");
    auto script = v8::Script::Compile(context, source).ToLocalChecked();
    v8::String::Utf8Value result(isolate, script->Run(context).ToLocalChecked());
    std::printf("v8 %s: %s\n", v8::V8::GetVersion(), *result);
    rc = std::strcmp(*result, "7,14,21") == 0 ? 0 : 1;
  }
  isolate->Dispose();
  v8::V8::Dispose();
  v8::V8::DisposePlatform();
  delete params.array_buffer_allocator;
  return rc;
}
