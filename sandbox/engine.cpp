#include "engine.hpp"

#include <libplatform/libplatform.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace cairn::sandbox::detail {

void ensure_v8(unsigned wasm_max_pages) {
  static std::once_flag once;
  std::call_once(once, [wasm_max_pages] {
    // SharedArrayBuffer is then installed only where the context callback says
    // so (never); wasm memory is capped because it bypasses the heap limit and
    // the ArrayBuffer allocator (DESIGN.md 6).
    // --no-verify-snapshot-checksum: libnode's built-in snapshot is part of
    // the library; summing it on every Isolate::New was 8% of a new tenant.
    std::string flags = "--enable-sharedarraybuffer-per-context --no-verify-snapshot-checksum --wasm-max-mem-pages=" +
                        std::to_string(wasm_max_pages ? wasm_max_pages : 1);
    if (const char* extra = std::getenv("CAIRN_V8_FLAGS")) flags += std::string(" ") + extra;
    v8::V8::SetFlagsFromString(flags.c_str(), flags.size());
    // Leaked on purpose: V8 lives as long as the process.
    static v8::Platform* platform = v8::platform::NewDefaultPlatform(1).release();
    v8::V8::InitializePlatform(platform);
    v8::V8::Initialize();
  });
}

}  // namespace cairn::sandbox::detail
