// Ids: 128-bit values with a 128-bit MAC in their text form (see actor_id.hpp).
#include <cairn/actor_id.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

#include <cairn/actor_namespace.hpp>
#include <cairn/detail/namespace_state.hpp>
#include <cairn/errors.hpp>

#include "hex.hpp"

namespace cairn {
namespace {

using digest = std::array<std::uint8_t, 32>;

digest hmac(const std::uint8_t* key, std::size_t key_len, std::uint8_t domain, const void* data,
            std::size_t len) {
  // The domain byte separates the uses of one key (name hashing, MACs).
  std::string msg;
  msg.reserve(len + 1);
  msg.push_back(static_cast<char>(domain));
  msg.append(static_cast<const char*>(data), len);
  digest out{};
  unsigned out_len = 0;
  if (!HMAC(EVP_sha256(), key, static_cast<int>(key_len), reinterpret_cast<const unsigned char*>(msg.data()),
            msg.size(), out.data(), &out_len))
    throw std::runtime_error("cairn: HMAC-SHA256 failed");
  return out;
}

constexpr std::uint8_t domain_name = 1;
constexpr std::uint8_t domain_mac = 2;

std::array<std::uint8_t, 16> mac_of(const detail::namespace_state& ns, const actor_id::value_type& v) {
  auto d = hmac(ns.key.data(), ns.key.size(), domain_mac, v.data(), v.size());
  std::array<std::uint8_t, 16> m{};
  std::copy_n(d.begin(), 16, m.begin());
  return m;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out.push_back((c >= 0x20 && c < 0x7f) ? c : '?');
  if (s.size() > 80) out += "...";
  return out;
}

}  // namespace

std::string actor_id::to_string() const {
  if (!ns_) return std::string(64, '0');
  auto mac = mac_of(*ns_, value_);
  std::string out;
  out.reserve(64);
  detail::append_hex(out, value_.data(), value_.size());
  detail::append_hex(out, mac.data(), mac.size());
  return out;
}

const std::string& actor_id::namespace_name() const {
  static const std::string none;
  return ns_ ? ns_->name : none;
}

namespace detail {

actor_id id_from_name(const namespace_state& ns, std::string_view name) {
  auto d = hmac(ns.key.data(), ns.key.size(), domain_name, name.data(), name.size());
  actor_id::value_type v{};
  std::copy_n(d.begin(), v.size(), v.begin());
  return actor_id(&ns, v);
}

actor_id new_unique_id(const namespace_state& ns) {
  // Random bytes in blocks: one RAND_bytes call per 256 ids.
  struct pool {
    std::array<std::uint8_t, 16 * 256> bytes;
    std::size_t used = sizeof(bytes);
  };
  static thread_local pool p;
  if (p.used == sizeof(p.bytes)) {
    if (RAND_bytes(p.bytes.data(), static_cast<int>(p.bytes.size())) != 1)
      throw std::runtime_error("cairn: the system random generator failed");
    p.used = 0;
  }
  actor_id::value_type v{};
  std::copy_n(p.bytes.begin() + static_cast<std::ptrdiff_t>(p.used), v.size(), v.begin());
  p.used += v.size();
  return actor_id(&ns, v);
}

actor_id id_from_string(const namespace_state& ns, std::string_view text) {
  if (text.size() != 64)
    throw invalid_id("cairn: '" + printable(text) + "' is not an actor id: expected 64 hex characters, got " +
                     std::to_string(text.size()));
  std::array<std::uint8_t, 32> raw{};
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = hex_value(text[2 * i]);
    int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      throw invalid_id("cairn: '" + printable(text) + "' is not an actor id: character " +
                       std::to_string(hi < 0 ? 2 * i : 2 * i + 1) + " is not a hex digit");
    raw[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  actor_id::value_type v{};
  std::copy_n(raw.begin(), 16, v.begin());
  auto expected = mac_of(ns, v);
  if (CRYPTO_memcmp(expected.data(), raw.data() + 16, 16) != 0)
    throw invalid_id("cairn: '" + printable(text) + "' is not an id of namespace '" + ns.name + "'");
  return actor_id(&ns, v);
}

void throw_foreign_id(const namespace_state& ns, const actor_id& id) {
  throw invalid_id("cairn: id " + id.to_string() + " belongs to namespace '" + id.namespace_name() +
                   "', not '" + ns.name + "'");
}

std::array<std::uint8_t, 32> derive_namespace_key(std::string_view secret, std::string_view ns_name) {
  return hmac(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size(), 0, ns_name.data(),
              ns_name.size());
}

}  // namespace detail
}  // namespace cairn
