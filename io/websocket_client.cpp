// Outbound WebSockets: Beast's client stream over a plain or TLS connection
// opened as fetch opens them, behind one interface.
#include <cairn/http/websocket_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <cairn/detail/shard.hpp>
#include <cairn/errors.hpp>
#include <cairn/http/fetch.hpp>
#include <cairn/use_task.hpp>

#include "client/client_service.hpp"
#include "client/connect.hpp"
#include "client/url.hpp"
#include "gated.hpp"

namespace cairn::http {

namespace bws = boost::beast::websocket;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
constexpr auto as_result = boost::asio::as_tuple(cairn::use_task);

namespace detail {

class websocket_connection {
 public:
  virtual ~websocket_connection() = default;
  virtual task<error_code> handshake(const client::parsed_url& u, const websocket_client_options& o,
                                     bhttp::response<bhttp::string_body>& res) = 0;
  virtual task<error_code> write(const std::string& data, bool binary) = 0;
  /// A whole message into `buf`; whether it is text.
  virtual task<std::pair<error_code, bool>> read(boost::beast::flat_buffer& buf) = 0;
  virtual task<error_code> close(const bws::close_reason& r) = 0;
  [[nodiscard]] virtual bool is_open() const noexcept = 0;
  [[nodiscard]] virtual bws::close_reason reason() const = 0;

  std::string url;
  std::string protocol;
  std::uint16_t code = bws::close_code::abnormal;
  std::string reason_text;
  bool sending = false;
  bool receiving = false;
};

namespace {

template <class Stream>
class stream_websocket final : public websocket_connection {
 public:
  explicit stream_websocket(Stream s) : ws_(std::move(s)) {}

  task<error_code> handshake(const client::parsed_url& u, const websocket_client_options& o,
                             bhttp::response<bhttp::string_body>& res) override {
    ws_.set_option(bws::stream_base::timeout{o.handshake_timeout, o.idle_timeout, true});
    ws_.set_option(bws::stream_base::decorator([h = o.headers](bws::request_type& req) {
      req.set(bhttp::field::user_agent, "cairn");
      for (const auto& f : h) req.set(f.name_string(), f.value());
    }));
    ws_.read_message_max(o.max_message_bytes);
    auto [ec] = co_await ws_.async_handshake(res, u.host_header, u.target, as_result);
    co_return ec;
  }

  task<error_code> write(const std::string& data, bool binary) override {
    ws_.binary(binary);
    auto [ec, n] = co_await ws_.async_write(boost::asio::buffer(data), as_result);
    co_return ec;
  }

  task<std::pair<error_code, bool>> read(boost::beast::flat_buffer& buf) override {
    auto [ec, n] = co_await ws_.async_read(buf, as_result);
    co_return std::pair{ec, ws_.got_text()};
  }

  task<error_code> close(const bws::close_reason& r) override {
    auto [ec] = co_await ws_.async_close(r, as_result);
    co_return ec;
  }

  bool is_open() const noexcept override { return ws_.is_open(); }
  bws::close_reason reason() const override { return ws_.reason(); }

 private:
  bws::stream<Stream> ws_;
};

}  // namespace
}  // namespace detail

websocket_client::websocket_client(std::unique_ptr<detail::websocket_connection> c) noexcept : c_(std::move(c)) {}
websocket_client::websocket_client(websocket_client&&) noexcept = default;
websocket_client& websocket_client::operator=(websocket_client&&) noexcept = default;
websocket_client::~websocket_client() = default;

namespace {

/// One send or one receive at a time (Beast allows one of each in flight).
class in_progress {
 public:
  in_progress(bool& flag, const char* what) : flag_(flag) {
    if (flag_) throw std::logic_error(std::string("websocket_client: another ") + what + " is in progress");
    flag_ = true;
  }
  ~in_progress() { flag_ = false; }
  in_progress(const in_progress&) = delete;
  in_progress& operator=(const in_progress&) = delete;

 private:
  bool& flag_;
};

void note_close(detail::websocket_connection& c) {
  const auto r = c.reason();
  c.code = r.code == bws::close_code::none ? 1005 : static_cast<std::uint16_t>(r.code);
  c.reason_text.assign(r.reason.data(), r.reason.size());
}

}  // namespace

task<void> websocket_client::send(std::string data, bool binary) {
  if (!c_ || !c_->is_open()) throw fetch_error(fetch_errc::connection_closed, c_ ? c_->url : "", "the socket is closed");
  in_progress guard(c_->sending, "send");
  if (!co_await detail::output_gate_passed())
    throw fetch_error(fetch_errc::output_void, c_->url, "the actor's storage commit failed; the message was not sent");
  if (auto ec = co_await c_->write(data, binary)) throw client::failure(ec, c_->url, "sending a message");
}

task<std::optional<ws_message>> websocket_client::receive() {
  if (!c_ || !c_->is_open()) co_return std::nullopt;
  in_progress guard(c_->receiving, "receive");
  boost::beast::flat_buffer buf;
  auto [ec, text] = co_await c_->read(buf);
  if (ec == bws::error::closed) {
    note_close(*c_);
    co_return std::nullopt;
  }
  if (ec == bws::error::message_too_big)
    throw fetch_error(fetch_errc::body_too_large, c_->url, "a message was larger than max_message_bytes (closed with 1009)");
  if (ec) throw client::failure(ec, c_->url, "receiving a message");
  ws_message m;
  m.data = boost::beast::buffers_to_string(buf.data());
  m.binary = !text;
  co_return m;
}

task<void> websocket_client::close(std::uint16_t code, std::string reason) {
  if (!c_ || !c_->is_open()) co_return;
  if (reason.size() > 123) reason.resize(123);
  bws::close_reason r(static_cast<bws::close_code>(code), reason);
  auto ec = co_await c_->close(r);
  if (ec && ec != bws::error::closed && !client::closed_by_peer(ec))
    throw client::failure(ec, c_->url, "closing the socket");
  c_->code = code;
  c_->reason_text = std::move(reason);
}

bool websocket_client::is_open() const noexcept { return c_ && c_->is_open(); }
std::uint16_t websocket_client::close_code() const noexcept { return c_ ? c_->code : std::uint16_t{bws::close_code::abnormal}; }
const std::string& websocket_client::close_reason() const noexcept {
  static const std::string none;
  return c_ ? c_->reason_text : none;
}
const std::string& websocket_client::protocol() const noexcept {
  static const std::string none;
  return c_ ? c_->protocol : none;
}

task<websocket_client> connect_websocket(std::string url, websocket_client_options o) {
  auto* sh = cairn::detail::shard::current();
  if (!sh) throw not_on_shard("cairn::http::connect_websocket");
  client::parsed_url u = client::parse_url(url, true);
  if (!co_await detail::output_gate_passed())
    throw fetch_error(fetch_errc::output_void, u.str(), "the actor's storage commit failed; the socket was not opened");
  auto& svc = client::client_service::of(*sh);

  auto tcp = co_await client::open_tcp(sh->io(), u, o.allow_address, o.connect_timeout);
  std::unique_ptr<detail::websocket_connection> c;
  if (u.tls) {
    client::tls_stream tls(std::move(tcp), svc.tls());
    co_await client::start_tls(tls, u, o.connect_timeout);
    c = std::make_unique<detail::stream_websocket<client::tls_stream>>(std::move(tls));
  } else {
    c = std::make_unique<detail::stream_websocket<client::tcp_stream>>(std::move(tcp));
  }
  ++svc.opened;
  c->url = u.str();
  bhttp::response<bhttp::string_body> res;
  if (auto ec = co_await c->handshake(u, o, res)) {
    if (ec == bws::error::upgrade_declined)
      throw fetch_error(fetch_errc::protocol_error, u.str(),
                        "the server answered " + std::to_string(res.result_int()) + " instead of switching protocols");
    throw client::failure(ec, u.str(), "the WebSocket handshake");
  }
  c->protocol = std::string(res[bhttp::field::sec_websocket_protocol]);
  co_return websocket_client(std::move(c));
}

}  // namespace cairn::http
