#pragma once
// The connection side of an accepted WebSocket: the handshake, then a reader
// that hands messages to the actor and a writer that drains what the actor
// (on any shard) queued. Private to io/.
#include <chrono>
#include <cstddef>


#include <cairn/http/message.hpp>
#include <cairn/task.hpp>

#include "socket.hpp"

namespace cairn::http::detail {

struct websocket_limits {
  std::size_t max_message_bytes;
  std::chrono::milliseconds handshake_timeout;  // the opening and the closing handshake
  std::chrono::milliseconds idle_timeout;       // silence: a ping at half of it, closed at all of it
  std::size_t max_send_queue_bytes;             // a client that reads slower is disconnected
};

/// Completes the upgrade that `upgrade` asked for and `accepted` (from
/// accept_websocket, its target bound) answers, then runs the socket until
/// it closes. The caller closes `sock` afterwards.
task<void> run_websocket(tcp_socket& sock, const request& upgrade, response accepted,
                         const websocket_limits& limits);

}  // namespace cairn::http::detail
