#pragma once
// How a worker's `fetch` reaches the network: not at all (the default), to
// URL prefixes of an allowlist, or through a host handler that sees every
// request (and can add credentials the sandbox never sees).
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <cairn/task.hpp>

namespace cairn::sandbox {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// A request as the guest made it (URL normalised by the host).
struct outbound_request {
  std::string method = "GET";
  std::string url;
  header_list headers;
  std::string body;
};

/// What the guest's `fetch` resolves to.
struct outbound_response {
  unsigned status = 200;
  header_list headers;
  std::string body;
  std::string url;  // the final URL after redirects
};

/// One allowlist entry: a URL prefix matched against the normalised URL
/// (scheme and host lowercased, IPv4 numbers in dotted form, default port
/// dropped, percent-encoding of the host decoded). `private_addresses` lets the
/// request reach loopback, private and link-local addresses, which are
/// otherwise refused after DNS resolution.
struct allow_rule {
  allow_rule(std::string p, bool private_ok = false) : prefix(std::move(p)), private_addresses(private_ok) {}  // NOLINT: a string is a rule
  std::string prefix;
  bool private_addresses = false;
};

class fetch_policy {
 public:
  enum class kind { none, allow, handler };
  using handler_fn = std::function<task<outbound_response>(outbound_request)>;

  fetch_policy() = default;
  [[nodiscard]] static fetch_policy none() { return {}; }
  [[nodiscard]] static fetch_policy allow(std::vector<allow_rule> rules) {
    fetch_policy p;
    p.kind_ = kind::allow;
    p.rules_ = std::move(rules);
    return p;
  }
  /// `h` runs on the shard of the call's caller for each request of the guest.
  [[nodiscard]] static fetch_policy handler(handler_fn h) {
    fetch_policy p;
    p.kind_ = kind::handler;
    p.handler_ = std::move(h);
    return p;
  }

  [[nodiscard]] kind mode() const noexcept { return kind_; }
  [[nodiscard]] const std::vector<allow_rule>& rules() const noexcept { return rules_; }
  [[nodiscard]] const handler_fn& handler() const noexcept { return handler_; }

 private:
  kind kind_ = kind::none;
  std::vector<allow_rule> rules_;
  handler_fn handler_;
};

}  // namespace cairn::sandbox
