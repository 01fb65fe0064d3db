// Reading request targets (see cairn/http/target.hpp).
#include <cairn/http/target.hpp>

#include <algorithm>

namespace cairn::http {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view path_of(std::string_view target) noexcept {
  return target.substr(0, std::min(target.find('?'), target.find('#')));
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      if (s[i] == '\0') return std::nullopt;
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return std::nullopt;
    out.push_back(c);
    i += 2;
  }
  return out;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    std::string key(pair.substr(0, eq));
    std::replace(key.begin(), key.end(), '+', ' ');
    if (percent_decode(key) != name) continue;
    if (eq == std::string_view::npos) return std::string();
    std::string value(pair.substr(eq + 1));
    std::replace(value.begin(), value.end(), '+', ' ');
    return percent_decode(value);
  }
  return std::nullopt;
}

std::optional<actor_target> parse_actor_target(std::string_view target) {
  std::string_view path = path_of(target);
  if (!path.starts_with('/')) return std::nullopt;
  path.remove_prefix(1);
  const auto first_end = path.find('/');
  if (first_end == std::string_view::npos || first_end == 0) return std::nullopt;
  std::string_view ns = path.substr(0, first_end);
  std::string_view rest = path.substr(first_end + 1);
  std::string_view key = rest.substr(0, rest.find('/'));
  if (key.empty()) return std::nullopt;
  actor_target t;
  auto ns_decoded = percent_decode(ns);
  if (!ns_decoded) return std::nullopt;
  t.namespace_name = std::move(*ns_decoded);
  if (key.starts_with('~')) {
    if (key.size() == 1) return std::nullopt;
    t.is_id = true;
    t.key = std::string(key.substr(1));
    return t;
  }
  auto key_decoded = percent_decode(key);
  if (!key_decoded || key_decoded->empty()) return std::nullopt;
  t.key = std::move(*key_decoded);
  return t;
}

}  // namespace cairn::http
