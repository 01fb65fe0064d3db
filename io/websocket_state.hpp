#pragma once
// The state of an accepted WebSocket, shared by the connection that owns the
// socket (on the shard that accepted it), the actor's handles (any shard)
// and the runtime's registry of sockets by actor. Private to io/.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <cairn/actor_id.hpp>
#include <cairn/http/websocket.hpp>

#include "cross_shard_queue.hpp"

namespace cairn::http::detail {

/// One frame on its way out. The payload is shared by the sockets of a broadcast.
struct ws_out {
  enum class kind : std::uint8_t { text, binary, close };
  kind what = kind::text;
  std::shared_ptr<const std::string> data;  // the message, or the close reason
  std::uint16_t code = 0;                   // for close
};

inline std::size_t queued_bytes(const ws_out& f) noexcept {
  return f.what == ws_out::kind::close || !f.data ? 0 : f.data->size();  // a close always fits
}

class websocket_state : public cross_shard_queue<ws_out> {
 public:
  websocket_state(actor_id owner, std::vector<std::string> tags, std::string attachment);

  const actor_id owner;
  const std::vector<std::string> tags;
  const std::uint64_t id;

  [[nodiscard]] bool has_tag(std::string_view t) const noexcept;
  [[nodiscard]] std::string attachment() const;
  void set_attachment(std::string a);

  /// Queues a close frame; later sends are refused. False if closing already.
  bool start_close(std::uint16_t code, std::string reason);
  [[nodiscard]] bool closing() const noexcept { return closing_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex attachment_mutex_;
  std::string attachment_;
  std::atomic<bool> closing_{false};
};

/// The open sockets of each actor of one runtime, and their auto-responses
/// (a runtime service: runtime_core::use_service).
class websocket_registry {
 public:
  void add(std::shared_ptr<websocket_state> s);
  /// The socket ended (or never started): off its actor's list, its queue
  /// closed to senders and to the writer.
  void retire(websocket_state& s);
  [[nodiscard]] std::vector<websocket> list(const actor_id& owner, std::string_view tag);

  void set_auto_response(const actor_id& owner, std::string request, std::string reply);
  /// The reply for `text` if it is the auto-response request of `owner`.
  [[nodiscard]] std::shared_ptr<const std::string> auto_reply(const actor_id& owner, std::string_view text);

 private:
  struct auto_response {
    std::string request;
    std::shared_ptr<const std::string> reply;
  };
  struct entry {
    std::vector<std::shared_ptr<websocket_state>> sockets;  // accept order
    std::shared_ptr<const auto_response> automatic;
  };
  struct id_hash {
    std::size_t operator()(const actor_id& id) const noexcept { return id.low_bits(); }
  };
  void erase_if_empty(std::unordered_map<actor_id, entry, id_hash>::iterator it);

  std::mutex mutex_;
  std::unordered_map<actor_id, entry, id_hash> by_actor_;
  std::atomic<std::size_t> auto_responses_{0};  // lets messages skip the lock when none is set
};

/// Travels with the 101 response from accept_websocket to the connection.
struct websocket_upgrade {
  websocket_upgrade(std::shared_ptr<websocket_state> s, websocket_registry& r) : socket(std::move(s)), registry(&r) {}
  /// A response that never reached a connection takes its socket off the list.
  ~websocket_upgrade();
  websocket_upgrade(const websocket_upgrade&) = delete;
  websocket_upgrade& operator=(const websocket_upgrade&) = delete;

  std::shared_ptr<websocket_state> socket;
  websocket_registry* registry;
  websocket_target target;
  bool adopted = false;  // a connection runs the socket now
};

}  // namespace cairn::http::detail
