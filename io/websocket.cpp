// WebSocket handles, accept, and the registry of sockets by actor
// (websocket_state.hpp). The connection side is in websocket_session.cpp.
#include "websocket_state.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/beast/websocket/rfc6455.hpp>

#include <cairn/actor.hpp>
#include <cairn/detail/runtime_core.hpp>
#include <cairn/runtime.hpp>

#include "gated.hpp"

namespace cairn::http {

namespace detail {

namespace {

std::atomic<std::uint64_t> next_socket_id{1};

websocket_registry& registry_of(const actor& a) { return a.runtime().core().use_service<websocket_registry>(); }

/// Queues `f` for `s`, through the running actor's output gate. A frame the
/// gate voids (the actor's commit failed) closes the socket with 1011: the
/// client may have seen state that was never stored.
bool send_frame(const std::shared_ptr<websocket_state>& s, ws_out f) {
  return through_output_gate(
      [s, f = std::move(f)]() mutable {
        if (f.what == ws_out::kind::close) s->start_close(f.code, *f.data);
        else s->push(std::move(f));
      },
      [s] { s->start_close(close_code::internal_error, "commit failed"); });
}

/// At most 123 bytes (a close frame's limit), not cutting a UTF-8 sequence.
std::string close_reason(std::string_view r) {
  if (r.size() <= 123) return std::string(r);
  std::size_t n = 123;
  while (n > 0 && (static_cast<unsigned char>(r[n]) & 0xC0) == 0x80) --n;
  return std::string(r.substr(0, n));
}

}  // namespace

websocket_state::websocket_state(actor_id o, std::vector<std::string> t, std::string a)
    : owner(o), tags(std::move(t)), id(next_socket_id.fetch_add(1, std::memory_order_relaxed)), attachment_(std::move(a)) {}

bool websocket_state::has_tag(std::string_view t) const noexcept {
  return std::find(tags.begin(), tags.end(), t) != tags.end();
}

std::string websocket_state::attachment() const {
  std::lock_guard lock(attachment_mutex_);
  return attachment_;
}

void websocket_state::set_attachment(std::string a) {
  std::lock_guard lock(attachment_mutex_);
  attachment_ = std::move(a);
}

bool websocket_state::start_close(std::uint16_t code, std::string reason) {
  if (closing_.exchange(true, std::memory_order_acq_rel)) return false;
  push(ws_out{ws_out::kind::close, std::make_shared<const std::string>(std::move(reason)), code});
  finish();
  return true;
}

void websocket_registry::add(std::shared_ptr<websocket_state> s) {
  std::lock_guard lock(mutex_);
  by_actor_[s->owner].sockets.push_back(std::move(s));
}

void websocket_registry::retire(websocket_state& s) {
  {
    std::lock_guard lock(mutex_);
    auto it = by_actor_.find(s.owner);
    if (it != by_actor_.end()) {
      auto& v = it->second.sockets;
      v.erase(std::remove_if(v.begin(), v.end(), [&](auto& p) { return p.get() == &s; }), v.end());
      erase_if_empty(it);
    }
  }
  s.fail();
  s.consumer_gone();
}

void websocket_registry::erase_if_empty(std::unordered_map<actor_id, entry, id_hash>::iterator it) {
  if (it->second.sockets.empty() && !it->second.automatic) by_actor_.erase(it);
}

std::vector<websocket> websocket_registry::list(const actor_id& owner, std::string_view tag) {
  std::vector<websocket> out;
  std::lock_guard lock(mutex_);
  auto it = by_actor_.find(owner);
  if (it == by_actor_.end()) return out;
  out.reserve(it->second.sockets.size());
  for (auto& s : it->second.sockets)
    if (!s->closing() && (tag.empty() || s->has_tag(tag))) out.emplace_back(s);
  return out;
}

void websocket_registry::set_auto_response(const actor_id& owner, std::string request, std::string reply) {
  std::lock_guard lock(mutex_);
  auto [it, made] = by_actor_.try_emplace(owner);
  const bool had = it->second.automatic != nullptr;
  if (request.empty()) {
    it->second.automatic.reset();
    if (had) auto_responses_.fetch_sub(1, std::memory_order_relaxed);
    erase_if_empty(it);
    return;
  }
  it->second.automatic = std::make_shared<const auto_response>(
      auto_response{std::move(request), std::make_shared<const std::string>(std::move(reply))});
  if (!had) auto_responses_.fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<const std::string> websocket_registry::auto_reply(const actor_id& owner, std::string_view text) {
  if (auto_responses_.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard lock(mutex_);
  auto it = by_actor_.find(owner);
  if (it == by_actor_.end() || !it->second.automatic || it->second.automatic->request != text) return nullptr;
  return it->second.automatic->reply;
}

websocket_upgrade::~websocket_upgrade() {
  if (!adopted) {
    registry->retire(*socket);
  }
}

void bind_websocket_target(response& res, websocket_target t) {
  if (auto& up = res.websocket_upgrade()) up->target = std::move(t);
}

}  // namespace detail

// ---- the handle ----

bool websocket::send(std::string data, bool binary) {
  if (!state_ || state_->closing() || !state_->accepting()) return false;
  using kind = detail::ws_out::kind;
  return detail::send_frame(state_, {binary ? kind::binary : kind::text, std::make_shared<const std::string>(std::move(data)), 0});
}

void websocket::close(std::uint16_t code, std::string_view reason) {
  if (code != close_code::normal && (code < 3000 || code > 4999))
    throw std::invalid_argument("cairn: a WebSocket close code must be 1000 or 3000-4999, not " + std::to_string(code));
  if (!state_ || state_->closing()) return;
  detail::send_frame(state_, {detail::ws_out::kind::close, std::make_shared<const std::string>(detail::close_reason(reason)), code});
}

bool websocket::open() const noexcept { return state_ && !state_->closing() && state_->accepting(); }

const std::vector<std::string>& websocket::tags() const noexcept {
  static const std::vector<std::string> none;
  return state_ ? state_->tags : none;
}

std::string websocket::attachment() const { return state_ ? state_->attachment() : std::string(); }

void websocket::serialize_attachment(std::string bytes) {
  if (bytes.size() > max_websocket_attachment_bytes)
    throw std::length_error("cairn: a WebSocket attachment is at most 16 KiB, not " + std::to_string(bytes.size()) + " bytes");
  if (state_) state_->set_attachment(std::move(bytes));
}

std::uint64_t websocket::id() const noexcept { return state_ ? state_->id : 0; }

// ---- accepting, listing, broadcasting ----

bool is_websocket_upgrade(const request& req) noexcept { return boost::beast::websocket::is_upgrade(req); }

response accept_websocket(const request& req, websocket_accept options) {
  const actor* self = cairn::detail::current_actor;
  if (!self) throw std::logic_error("cairn: accept_websocket is called from an actor's fetch handler");
  if (!is_websocket_upgrade(req)) throw std::invalid_argument("cairn: accept_websocket: the request is not a WebSocket upgrade");
  if (options.tags.size() > max_websocket_tags)
    throw std::invalid_argument("cairn: a WebSocket takes at most 10 tags, not " + std::to_string(options.tags.size()));
  for (auto& t : options.tags)
    if (t.empty() || t.size() > max_websocket_tag_bytes)
      throw std::invalid_argument("cairn: a WebSocket tag is 1 to 256 bytes, not " + std::to_string(t.size()));
  if (options.attachment.size() > max_websocket_attachment_bytes)
    throw std::invalid_argument("cairn: a WebSocket attachment is at most 16 KiB, not " +
                                std::to_string(options.attachment.size()) + " bytes");
  auto& reg = detail::registry_of(*self);
  auto s = std::make_shared<detail::websocket_state>(self->id(), std::move(options.tags), std::move(options.attachment));
  reg.add(s);
  response res(status::switching_protocols, req.version());
  res.set_websocket_upgrade(std::make_shared<detail::websocket_upgrade>(std::move(s), reg));
  return res;
}

std::vector<websocket> websockets(const actor& self, std::string_view tag) {
  return detail::registry_of(self).list(self.id(), tag);
}

std::size_t broadcast(const actor& self, std::string_view data, const websocket& except, std::string_view tag, bool binary) {
  auto payload = std::make_shared<const std::string>(data);
  using kind = detail::ws_out::kind;
  std::size_t n = 0;
  for (auto& ws : websockets(self, tag)) {
    if (ws == except) continue;
    if (detail::send_frame(ws.state(), {binary ? kind::binary : kind::text, payload, 0})) ++n;
  }
  return n;
}

void set_websocket_auto_response(const actor& self, std::string request, std::string reply) {
  detail::registry_of(self).set_auto_response(self.id(), std::move(request), std::move(reply));
}

}  // namespace cairn::http
