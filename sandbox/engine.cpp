#include "engine.hpp"

#include <libplatform/libplatform.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

namespace cairn::sandbox::detail {

void ensure_v8(unsigned wasm_max_pages, bool webassembly) {
  static std::once_flag once;
  static bool wasm_on = false;
  std::call_once(once, [wasm_max_pages, webassembly] {
    // SharedArrayBuffer is then installed only where the context callback says
    // so (never); wasm memory is capped because it bypasses the heap limit and
    // the ArrayBuffer allocator (DESIGN.md 6).
    // --no-verify-snapshot-checksum: libnode's built-in snapshot is part of
    // the library; summing it on every Isolate::New was 8% of a new tenant.
    std::string flags = "--enable-sharedarraybuffer-per-context --no-verify-snapshot-checksum --wasm-max-mem-pages=" +
                        std::to_string(wasm_max_pages ? wasm_max_pages : 1);
    // Without WebAssembly (and asm.js, which compiles to it) V8 skips building
    // the WebAssembly namespace in every new context: ~10% of a worker's load.
    if (!webassembly) flags += " --no-expose-wasm --no-validate-asm";
    if (const char* extra = std::getenv("CAIRN_V8_FLAGS")) flags += std::string(" ") + extra;
    v8::V8::SetFlagsFromString(flags.c_str(), flags.size());
    // Leaked on purpose: V8 lives as long as the process.
    static v8::Platform* platform = v8::platform::NewDefaultPlatform(1).release();
    v8::V8::InitializePlatform(platform);
    v8::V8::Initialize();
    wasm_on = webassembly;
  });
  if (webassembly && !wasm_on)
    throw std::logic_error("cairn sandbox: the first pool of this process turned WebAssembly off (pool_options::webassembly)");
}

}  // namespace cairn::sandbox::detail
