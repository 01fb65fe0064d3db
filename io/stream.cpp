// Streamed response bodies: the writer, its trip through the output gate, and
// the state the connection reads (body_stream.hpp).
#include "body_stream.hpp"

#include <cairn/actor.hpp>
#include <cairn/detail/output_gate.hpp>

namespace cairn::http {

namespace {

/// A chunk (or the end) on its way through the writer's output gate.
struct stream_effect : cairn::detail::work_item {
  stream_effect(std::shared_ptr<detail::body_stream> s, std::string c, bool end)
      : work_item(&perform), stream(std::move(s)), chunk(std::move(c)), is_end(end) {}

  static void perform(cairn::detail::work_item* w, cairn::detail::op o, std::exception_ptr) {
    std::unique_ptr<stream_effect> self(static_cast<stream_effect*>(w));
    if (o == cairn::detail::op::run) {
      if (self->is_end) self->stream->finish(); else self->stream->push(std::move(self->chunk));
    } else if (o == cairn::detail::op::fail) {
      self->stream->fail();  // the commit failed: this output is void
    }
  }

  std::shared_ptr<detail::body_stream> stream;
  std::string chunk;
  bool is_end;
};

/// Performs the effect now, or leaves it to the gate of the actor running.
bool through_gate(std::unique_ptr<stream_effect> e) {
  switch (cairn::detail::gate_output(e.get())) {
    case cairn::detail::gate_state::held:
      e.release();  // the commit runs or fails it
      return true;
    case cairn::detail::gate_state::closed:
      e->stream->fail();
      return false;
    case cairn::detail::gate_state::open:
      break;
  }
  auto* raw = e.release();
  raw->fn_(raw, cairn::detail::op::run, {});
  return true;
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
  return through_gate(std::make_unique<stream_effect>(stream_, std::move(chunk), false));
}

void body_writer::close() {
  if (!stream_) return;
  auto s = std::move(stream_);
  try {
    through_gate(std::make_unique<stream_effect>(std::move(s), std::string(), true));
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
