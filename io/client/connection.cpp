#include "connection.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/asio/write.hpp>

#include <cairn/use_task.hpp>

namespace cairn::http::client {

namespace {

namespace bhttp = boost::beast::http;
constexpr auto as_result = boost::asio::as_tuple(cairn::use_task);

template <class Stream>
class stream_connection final : public connection {
 public:
  explicit stream_connection(Stream s) : s_(std::move(s)) {}

  task<boost::system::error_code> exchange(const std::string& request, response_parser& p,
                                           std::chrono::milliseconds timeout) override {
    lowest().expires_after(timeout);
    auto [wec, wn] = co_await boost::asio::async_write(s_, boost::asio::buffer(request), as_result);
    if (wec) co_return wec;
    auto [rec, rn] = co_await bhttp::async_read_header(s_, buffer, p, as_result);
    lowest().expires_never();
    co_return rec;
  }

  task<boost::system::error_code> read_some(response_parser& p, std::chrono::milliseconds timeout) override {
    lowest().expires_after(timeout);
    auto [ec, n] = co_await bhttp::async_read_some(s_, buffer, p, as_result);
    lowest().expires_never();
    if (ec == bhttp::error::need_buffer) ec = {};
    co_return ec;
  }

  bool still_usable() noexcept override {
    if (buffer.size() != 0) return false;
    char c;
    const auto n = ::recv(lowest().socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // nothing to read, not closed
  }

 private:
  tcp_stream& lowest() noexcept { return boost::beast::get_lowest_layer(s_); }
  Stream s_;
};

}  // namespace

task<std::unique_ptr<connection>> open_connection(boost::asio::io_context& io, const parsed_url& u,
                                                  boost::asio::ssl::context& tls_ctx, const address_policy& allow,
                                                  std::chrono::milliseconds timeout) {
  auto tcp = co_await open_tcp(io, u, allow, timeout);
  boost::system::error_code ec;
  const auto peer = tcp.socket().remote_endpoint(ec).address();
  std::unique_ptr<connection> c;
  if (!u.tls) {
    c = std::make_unique<stream_connection<tcp_stream>>(std::move(tcp));
  } else {
    tls_stream tls(std::move(tcp), tls_ctx);
    co_await start_tls(tls, u, timeout);
    c = std::make_unique<stream_connection<tls_stream>>(std::move(tls));
  }
  c->peer = peer;
  co_return c;
}

}  // namespace cairn::http::client
