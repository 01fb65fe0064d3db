#include "guest_error.hpp"

#include <boost/json/serialize.hpp>

#include "values.hpp"

namespace cairn::sandbox::detail {

namespace {

std::string format_stack(v8::Isolate* iso, v8::Local<v8::StackTrace> trace) {
  std::string out;
  if (trace.IsEmpty()) return out;
  for (int i = 0; i < trace->GetFrameCount() && i < 32; ++i) {
    auto f = trace->GetFrame(iso, static_cast<uint32_t>(i));
    std::string fn = utf8(iso, f->GetFunctionName());
    std::string script = utf8(iso, f->GetScriptName());
    // The prelude's frames are minified library code, not the guest's.
    if (script == "cairn:prelude") continue;
    if (!out.empty()) out += '\n';
    out += "    at ";
    if (!fn.empty()) out.append(fn).append(" (");
    out.append(script.empty() ? "<anonymous>" : script).append(":");
    out.append(std::to_string(f->GetLineNumber())).append(":").append(std::to_string(f->GetColumn()));
    if (!fn.empty()) out += ')';
  }
  return out;
}

}  // namespace

thrown describe_thrown(v8::Local<v8::Context> ctx, v8::Local<v8::Value> ex) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::HandleScope scope(iso);
  v8::TryCatch tc(iso);
  thrown t;
  if (ex.IsEmpty()) {
    t.message = "unknown error";
    return t;
  }
  if (ex->IsObject() && !ex->IsProxy()) {
    auto o = ex.As<v8::Object>();
    v8::Local<v8::Value> name, message;
    std::string n = data_property(ctx, o, "name").ToLocal(&name) && name->IsString() ? utf8(iso, name) : "";
    std::string m = data_property(ctx, o, "message").ToLocal(&message) && message->IsString() ? utf8(iso, message) : "";
    if (n.empty() && m.empty()) {
      copy_failure why;
      auto copy = from_guest(ctx, ex, 4096, why);
      t.message = copy ? "Uncaught " + boost::json::serialize(*copy) : "Uncaught exception (an object)";
    } else {
      t.message = n.empty() ? m : m.empty() ? n : n + ": " + m;
    }
    t.stack = format_stack(iso, v8::Exception::GetStackTrace(ex));
  } else if (ex->IsProxy()) {
    t.message = "Uncaught exception (a Proxy)";
  } else {
    t.message = "Uncaught " + utf8(iso, ex);
  }
  if (t.message.size() > 4096) t.message.resize(4096);
  return t;
}

std::string describe_compile_error(v8::Local<v8::Context> ctx, const v8::TryCatch& tc) {
  v8::Isolate* iso = ctx->GetIsolate();
  v8::HandleScope scope(iso);
  auto msg = tc.Message();
  std::string text = tc.HasCaught() ? describe_thrown(ctx, tc.Exception()).message : "compilation failed";
  if (msg.IsEmpty()) return text;
  std::string where = utf8(iso, msg->GetScriptResourceName());
  const int line = msg->GetLineNumber(ctx).FromMaybe(0);
  const int column = msg->GetStartColumn(ctx).FromMaybe(0) + 1;
  return where + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + text;
}

}  // namespace cairn::sandbox::detail
