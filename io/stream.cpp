// Streamed response bodies: the writer, its trip through the output gate, and
// the state the connection reads (body_stream.hpp).
#include "body_stream.hpp"
#include "gated.hpp"

namespace cairn::http {

namespace {

/// Queues a chunk (or the end) for the connection, through the writer's output gate.
bool gated_push(std::shared_ptr<detail::body_stream> s, std::string chunk, bool end) {
  auto* raw = s.get();
  return detail::through_output_gate(
      [s = std::move(s), chunk = std::move(chunk), end]() mutable {
        if (end) s->finish(); else s->push(std::move(chunk));
      },
      [raw] { raw->fail(); });  // the commit failed: this output is void
}

}  // namespace

body_writer& body_writer::operator=(body_writer&& o) noexcept {
  if (this != &o) {
    close();
    stream_ = std::move(o.stream_);
  }
  return *this;
}

body_writer::~body_writer() { close(); }

bool body_writer::write(std::string chunk) {
  if (!stream_ || !stream_->accepting()) return false;
  if (chunk.empty()) return true;
  return gated_push(stream_, std::move(chunk), false);
}

void body_writer::close() {
  if (!stream_) return;
  auto s = std::move(stream_);
  try {
    gated_push(std::move(s), std::string(), true);
  } catch (...) {
    // Out of memory: the connection ends when the stream's last owner goes.
  }
}

bool body_writer::open() const noexcept { return stream_ && stream_->accepting(); }

std::pair<response, body_writer> make_streamed_response(status s, std::string_view content_type) {
  response res(s, 11);
  res.set(field::content_type, content_type);
  if (content_type.starts_with("text/event-stream")) res.set(field::cache_control, "no-cache");
  auto stream = std::make_shared<detail::body_stream>();
  res.set_body_stream(stream);
  return {std::move(res), body_writer(std::move(stream))};
}

std::string sse_event(std::string_view data, std::string_view event, std::string_view id) {
  std::string out;
  auto field_line = [&](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    for (char c : value) out += (c == '\r' || c == '\n') ? ' ' : c;  // no field injection through event or id
    out += '\n';
  };
  if (!event.empty()) field_line("event", event);
  if (!id.empty()) field_line("id", id);
  for (;;) {  // one data line per line; a CR or LF inside would end the field
    auto nl = data.find_first_of("\r\n");
    field_line("data", data.substr(0, nl));
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + (data.substr(nl, 2) == "\r\n" ? 2 : 1));
  }
  out += '\n';
  return out;
}

}  // namespace cairn::http
