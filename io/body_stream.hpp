#pragma once
// The shared state of a streamed response body: chunks written on any thread
// (an actor's shard), read by the connection on its shard. Private to io/.
#include <string>

#include <cairn/http/stream.hpp>

#include "cross_shard_queue.hpp"

namespace cairn::http::detail {

// A class (not an alias) so that message.hpp can declare it ahead.
class body_stream : public cross_shard_queue<std::string> {};

}  // namespace cairn::http::detail
