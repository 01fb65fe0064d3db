#include "pool.hpp"

#include <algorithm>

namespace cairn::http::client {

std::unique_ptr<connection> connection_pool::take(const std::string& origin) {
  auto it = idle_.find(origin);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  const auto oldest_allowed = clock::now() - idle_timeout_;  // NOLINT: read once
  // Too old ones are at the front (given back first): drop them all.
  list.erase(list.begin(), std::find_if(list.begin(), list.end(),
                                        [&](const idle& i) { return i.since >= oldest_allowed; }));
  const auto now = clock::now();
  while (!list.empty()) {
    auto c = std::move(list.back().c);
    const auto since = list.back().since;
    list.pop_back();
    // A connection idle for a moment is taken as it is (a syscall saved per
    // request); one idle longer is checked for a close the server sent
    // meanwhile. Either way, fetch retries once if the server had closed it.
    if (now - since < std::chrono::seconds(1) || c->still_usable()) return c;
  }
  idle_.erase(it);
  return nullptr;
}

void connection_pool::give(const std::string& origin, std::unique_ptr<connection> c) {
  auto& list = idle_[origin];
  if (list.size() >= max_per_origin_) list.erase(list.begin());  // close the longest idle
  list.push_back({std::move(c), clock::now()});
}

}  // namespace cairn::http::client
