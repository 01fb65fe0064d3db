#pragma once
/// Streamed response bodies: chunked transfer encoding, Server-Sent Events.
///
///   auto [res, out] = cairn::http::make_streamed_response(status::ok, "text/event-stream");
///   out.write(cairn::http::sse_event("hello"));   // now, or later from anywhere
///   events_ = std::move(out);                      // keep it; close() or drop it to end the body
///   co_return std::move(res);
///
/// A writer may live in an actor and write from its later turns; chunks an
/// actor writes after a storage write leave only once that write is durable
/// (the output gate), and are dropped with the connection if the commit fails.
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <cairn/http/message.hpp>

namespace cairn::http {

class body_writer {
 public:
  body_writer() = default;
  explicit body_writer(std::shared_ptr<detail::body_stream> s) noexcept : stream_(std::move(s)) {}
  body_writer(body_writer&&) noexcept = default;
  body_writer& operator=(body_writer&& o) noexcept;
  body_writer(const body_writer&) = delete;
  body_writer& operator=(const body_writer&) = delete;
  /// Ends the body (as close()).
  ~body_writer();

  /// Queues a chunk for the client (an empty one is ignored). False once the
  /// client has gone or the body was closed: stop producing.
  bool write(std::string chunk);
  /// Ends the body: the client receives what was written, then the end.
  void close();
  /// Whether the client is still there to read (a hint: it may leave any time).
  [[nodiscard]] bool open() const noexcept;

 private:
  std::shared_ptr<detail::body_stream> stream_;
};

/// A response whose body streams, and the writer that produces it.
[[nodiscard]] std::pair<response, body_writer> make_streamed_response(status s, std::string_view content_type);

/// One Server-Sent Event: `event:` (if given), `id:` (if given), one `data:`
/// line per line of `data`, and the blank line that ends it.
[[nodiscard]] std::string sse_event(std::string_view data, std::string_view event = {}, std::string_view id = {});

}  // namespace cairn::http
