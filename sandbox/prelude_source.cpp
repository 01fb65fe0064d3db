// Derives from a V8 class: compiled without RTTI, like libnode.
#include "prelude_source.hpp"

#include <algorithm>
#include <stdexcept>

extern "C" const char cairn_sandbox_prelude[];
extern "C" const unsigned long cairn_sandbox_prelude_size;

namespace cairn::sandbox::detail {
namespace {

// Static data: V8 may "dispose" the resource when a string dies; it lives on.
class static_source final : public v8::String::ExternalOneByteStringResource {
 public:
  const char* data() const override { return cairn_sandbox_prelude; }
  size_t length() const override { return cairn_sandbox_prelude_size; }
  void Dispose() override {}
};

bool is_ascii() {
  return std::all_of(cairn_sandbox_prelude, cairn_sandbox_prelude + cairn_sandbox_prelude_size,
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

v8::Local<v8::String> prelude_source(v8::Isolate* iso) {
  // esbuild writes ASCII (non-ASCII characters escaped), which is one-byte as it is.
  static const bool ascii = is_ascii();
  static static_source resource;
  if (!ascii) throw std::logic_error("cairn sandbox: the prelude bundle is not ASCII (esbuild charset)");
  return v8::String::NewExternalOneByte(iso, &resource).ToLocalChecked();
}

}  // namespace cairn::sandbox::detail
