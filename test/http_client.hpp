#pragma once
// Clients for the HTTP tests: curl in a child process, and a raw TCP socket
// for what curl will not send (malformed requests, half a header).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace cairn_test {

struct curl_result {
  int exit_code = -1;
  std::string out;  // stdout, lines joined with '\n'
};

/// Runs curl with `args` (silent, 20 s at most) and returns its stdout.
inline curl_result curl(std::vector<std::string> args) {
  std::vector<std::string> argv{"/usr/bin/curl", "--silent", "--show-error", "--max-time", "20"};
  argv.insert(argv.end(), args.begin(), args.end());
  child_process p(argv);
  curl_result r;
  bool first = true;
  while (auto line = p.read_line(std::chrono::seconds(30))) {
    if (!first) r.out += '\n';
    r.out += *line;
    first = false;
  }
  const int status = p.wait();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// A blocking TCP connection to 127.0.0.1:port; every read waits 10 s at most.
class raw_client {
 public:
  explicit raw_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
  }
  ~raw_client() { ::close(fd_); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  void send(const std::string& s) {
    if (::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(s.size()))
      throw std::runtime_error("send failed");
  }
  /// What arrives first (waits for at least one byte, or the read timeout).
  std::string read_some() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, 0)) < 0 && errno == EINTR) {
    }
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  /// Everything until the server closes (or the read timeout).
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;  // a signal (a curl child exiting), not the end
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  /// Whether the server closed the connection (a read returns 0 before the
  /// timeout); anything else goes to stderr.
  bool closed_by_server() {
    char c;
    for (;;) {
      ssize_t n = ::recv(fd_, &c, 1, 0);
      if (n == 0) return true;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        if (errno == ECONNRESET) return true;
        std::fprintf(stderr, "raw_client: recv failed: %s\n", std::strerror(errno));
        return false;
      }
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace cairn_test
