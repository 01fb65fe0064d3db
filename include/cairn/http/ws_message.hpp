#pragma once
/// What WebSocket sockets carry, on both sides (accepted sockets in
/// websocket.hpp, outbound ones in websocket_client.hpp).
#include <cstdint>
#include <string>

namespace cairn::http {

/// Close codes cairn sends (RFC 6455 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;        // the server stops
inline constexpr std::uint16_t protocol_error = 1002;    // a malformed frame
inline constexpr std::uint16_t too_big = 1009;           // over the message limit
inline constexpr std::uint16_t internal_error = 1011;    // the handler threw, or its commit failed
}  // namespace close_code

/// A message received (named apart from the handler `websocket_message`).
struct ws_message {
  std::string data;
  bool binary = false;
};

}  // namespace cairn::http
