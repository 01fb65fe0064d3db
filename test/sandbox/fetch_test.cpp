// The guest's fetch under each policy, against a plain HTTP server on
// 127.0.0.1: allowlists checked on every redirect hop and on the resolved
// address, numeric host forms normalised, a request budget, a host handler.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "../../sandbox/fetch_grant.hpp"
#include "sandbox_fixture.hpp"

using namespace sandbox_test;

namespace {

/// Answers each connection once: /redirect?to=URL with a 302, anything else
/// with 200 "hello <path>". Counts requests.
class tiny_server {
 public:
  tiny_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~tiny_server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  [[nodiscard]] unsigned short port() const { return port_; }
  [[nodiscard]] int requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      ++requests_;
      const auto sp = req.find(' ');
      const std::string path = sp == std::string::npos ? "/" : req.substr(sp + 1, req.find(' ', sp + 1) - sp - 1);
      std::string resp;
      if (path.starts_with("/redirect?to=")) {
        resp = "HTTP/1.1 302 Found\r\nLocation: " + path.substr(13) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      } else {
        const std::string body = "hello " + path;
        resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\nConnection: close\r\n\r\n" + body;
      }
      (void)!::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

sb::worker_code fetching(sb::fetch_policy policy) {
  auto c = module("export default async (url) => { const r = await fetch(url); return r.status + ' ' + await r.text() }");
  c.fetch = std::move(policy);
  return c;
}

json::value str(const std::string& s) { return json::string(s); }

}  // namespace

BOOST_AUTO_TEST_CASE(urls_are_normalised_before_rules_match) {
  using sandbox_test::sb::detail::normalise_url;
  std::string why;
  BOOST_TEST(*normalise_url("HTTP://Example.COM:80", why) == "http://example.com/");
  BOOST_TEST(*normalise_url("http://2130706433:8080/a", why) == "http://127.0.0.1:8080/a");
  BOOST_TEST(*normalise_url("http://0177.0.0.1/", why) == "http://127.0.0.1/");
  BOOST_TEST(*normalise_url("http://0x7f.1/", why) == "http://127.0.0.1/");
  BOOST_TEST(*normalise_url("http://127.1/", why) == "http://127.0.0.1/");
  BOOST_TEST(*normalise_url("http://%31%32%37.0.0.1/", why) == "http://127.0.0.1/");
  BOOST_TEST(*normalise_url("http://[0:0::1]:443/", why) == "http://[::1]:443/");
  BOOST_TEST(*normalise_url("https://a.b:443/x?y#z", why) == "https://a.b/x?y");
  BOOST_TEST(!normalise_url("http://256.256.256.256/", why));
  BOOST_TEST(!normalise_url("file:///etc/passwd", why));
  BOOST_TEST(!normalise_url("http://user:pw@a.b/", why));
  BOOST_TEST(sb::detail::is_private_address("127.0.0.1"));
  BOOST_TEST(sb::detail::is_private_address("::ffff:10.0.0.1"));
  BOOST_TEST(sb::detail::is_private_address("169.254.169.254"));
  BOOST_TEST(sb::detail::is_private_address("fd00::1"));
  BOOST_TEST(!sb::detail::is_private_address("93.184.216.34"));
}

BOOST_FIXTURE_TEST_SUITE(sandbox_fetch, pool_fixture)

BOOST_AUTO_TEST_CASE(fetch_is_refused_unless_granted) {
  tiny_server s;
  const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
  auto none = run(fetching(sb::fetch_policy::none()), str(base + "/x"));
  BOOST_TEST(none.failed_with(sb::errc::not_granted));
  BOOST_TEST(none.message.find("not granted") != std::string::npos);

  // Granted with private addresses: works.
  auto ok = run(fetching(sb::fetch_policy::allow({sb::allow_rule(base + "/", true)})), str(base + "/x"));
  BOOST_TEST_INFO(ok.describe());
  BOOST_TEST((ok.ok && ok.value == "200 hello /x"));

  // Loopback in every spelling: the rule matches after normalisation, but
  // without private addresses granted the resolved address is refused.
  const std::string port = std::to_string(s.port());
  for (const std::string& url : std::vector<std::string>{base + "/a", "http://2130706433:" + port + "/a", "http://0177.0.0.1:" + port + "/a",
                                "http://0x7f.0.0.1:" + port + "/a"}) {
    auto o = run(fetching(sb::fetch_policy::allow({sb::allow_rule(base + "/")})), str(url));
    BOOST_TEST_INFO(url << " -> " << o.describe());
    BOOST_TEST(o.failed_with(sb::errc::not_granted));
    BOOST_TEST(o.message.find("non-public address") != std::string::npos);
  }
  // IPv6 loopback and a host no rule names.
  for (const std::string& url : std::vector<std::string>{"http://[::1]:" + port + "/a", "http://example.com/"}) {
    auto o = run(fetching(sb::fetch_policy::allow({sb::allow_rule(base + "/", true)})), str(url));
    BOOST_TEST_INFO(url << " -> " << o.describe());
    BOOST_TEST(o.failed_with(sb::errc::not_granted));
  }
  BOOST_TEST(s.requests() == 1);
}

BOOST_AUTO_TEST_CASE(every_redirect_hop_is_checked) {
  tiny_server granted, other;
  const std::string g = "http://127.0.0.1:" + std::to_string(granted.port());
  const std::string o = "http://127.0.0.1:" + std::to_string(other.port());
  auto policy = sb::fetch_policy::allow({sb::allow_rule(g + "/", true)});
  auto inside = run(fetching(policy), str(g + "/redirect?to=" + g + "/landed"));
  BOOST_TEST_INFO(inside.describe());
  BOOST_TEST((inside.ok && inside.value == "200 hello /landed"));
  auto outside = run(fetching(policy), str(g + "/redirect?to=" + o + "/secret"));
  BOOST_TEST_INFO(outside.describe());
  BOOST_TEST(outside.failed_with(sb::errc::not_granted));
  BOOST_TEST(other.requests() == 0);
}

BOOST_AUTO_TEST_CASE(outbound_requests_are_counted) {
  tiny_server s;
  const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
  auto c = module("export default async (url) => { await fetch(url); await fetch(url); return 'two' }");
  c.fetch = sb::fetch_policy::allow({sb::allow_rule(base + "/", true)});
  c.limits.max_requests = 1;
  auto o = run(std::move(c), str(base + "/x"));
  BOOST_TEST(o.failed_with(sb::errc::request_limit));
  BOOST_TEST(s.requests() == 1);
}

BOOST_AUTO_TEST_CASE(a_handler_sees_every_request_and_can_add_credentials) {
  std::string seen;
  auto c = module(
      "export default async () => { const r = await fetch('https://api.example/v1', { method: 'POST', body: 'q' });"
      "  return r.status + ' ' + await r.text() + ' ' + r.headers.get('x-r') }");
  c.fetch = sb::fetch_policy::handler([&seen](sb::outbound_request req) -> cairn::task<sb::outbound_response> {
    seen = req.method + " " + req.url + " " + req.body;
    sb::outbound_response r;
    r.status = 200;
    r.headers.emplace_back("x-r", "1");
    r.body = "answer with secret-free body";
    co_return r;
  });
  auto o = run(std::move(c));
  BOOST_TEST_INFO(o.describe());
  BOOST_TEST((o.ok && o.value == "200 answer with secret-free body 1"));
  BOOST_TEST(seen == "POST https://api.example/v1 q");
}

BOOST_AUTO_TEST_SUITE_END()
