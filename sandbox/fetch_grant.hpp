#pragma once
// The guest's fetch under its worker's policy, performed by cairn::http::fetch
// on the caller's shard. Private to sandbox/.
#include <optional>
#include <string>
#include <string_view>

#include <cairn/sandbox/fetch_policy.hpp>
#include <cairn/task.hpp>

#include "worker_instance.hpp"

namespace cairn::sandbox::detail {

/// The form allow rules match: scheme and host lowercased, the host's
/// percent-encoding decoded, IPv4 numbers (decimal, octal, hex, short forms)
/// written as dotted decimal, IPv6 compressed, the default port dropped, an
/// empty path as "/". Nullopt (with `why`) for what is not an http(s) URL.
std::optional<std::string> normalise_url(std::string_view url, std::string& why);

/// True for loopback, private, link-local, unspecified, multicast and other
/// non-public addresses (IPv4-mapped IPv6 included).
bool is_private_address(std::string_view ip);

/// Checks `req` against `policy` and performs it (at most `requests_left`
/// requests, redirect hops included). The answer is a response, or an error
/// whose code says why (not_granted, request_limit, guest_exception for
/// network failures).
task<worker_instance::host_answer> perform_fetch(fetch_policy policy, outbound_request req, unsigned requests_left,
                                                 std::size_t max_body);

}  // namespace cairn::sandbox::detail
