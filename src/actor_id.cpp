// Ids: 128-bit values with a 128-bit MAC in their text form (see actor_id.hpp).
#include <cairn/actor_id.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <utility>
#include <vector>
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

/// HMAC-SHA256 under one key with both pads digested once. A message then
/// costs two context copies; OpenSSL 3's one-shot HMAC() looks SHA-256 up
/// (under global locks) on every call, which cost more than the hashing when
/// ids are made per request.
class keyed_hmac {
 public:
  explicit keyed_hmac(const std::array<std::uint8_t, 32>& key) {
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!sha256 || !inner_ || !outer_ || !work_) throw std::runtime_error("cairn: SHA-256 is not available");
    std::array<std::uint8_t, 64> pad{};  // the key is shorter than a block: zero-padded
    auto start = [&](EVP_MD_CTX* ctx, std::uint8_t x) {
      for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = static_cast<std::uint8_t>((i < key.size() ? key[i] : 0) ^ x);
      if (EVP_DigestInit_ex(ctx, sha256, nullptr) != 1 || EVP_DigestUpdate(ctx, pad.data(), pad.size()) != 1)
        throw std::runtime_error("cairn: HMAC-SHA256 failed");
    };
    start(inner_.get(), 0x36);
    start(outer_.get(), 0x5c);
    OPENSSL_cleanse(pad.data(), pad.size());
  }

  /// HMAC(key, domain || data).
  digest operator()(std::uint8_t domain, const void* data, std::size_t len) {
    digest inner{}, out{};
    bool ok = EVP_MD_CTX_copy_ex(work_.get(), inner_.get()) == 1 && EVP_DigestUpdate(work_.get(), &domain, 1) == 1 &&
              EVP_DigestUpdate(work_.get(), data, len) == 1 &&
              EVP_DigestFinal_ex(work_.get(), inner.data(), nullptr) == 1 &&
              EVP_MD_CTX_copy_ex(work_.get(), outer_.get()) == 1 &&
              EVP_DigestUpdate(work_.get(), inner.data(), inner.size()) == 1 &&
              EVP_DigestFinal_ex(work_.get(), out.data(), nullptr) == 1;
    if (!ok) throw std::runtime_error("cairn: HMAC-SHA256 failed");
    return out;
  }

 private:
  struct free_ctx {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  using ctx_ptr = std::unique_ptr<EVP_MD_CTX, free_ctx>;
  ctx_ptr inner_{EVP_MD_CTX_new()}, outer_{EVP_MD_CTX_new()}, work_{EVP_MD_CTX_new()};
};

/// This thread's keyed HMAC for a namespace's key (few namespaces: a list).
digest hmac(const std::array<std::uint8_t, 32>& key, std::uint8_t domain, const void* data, std::size_t len) {
  thread_local std::vector<std::pair<std::array<std::uint8_t, 32>, std::unique_ptr<keyed_hmac>>> keyed;
  for (auto& [k, h] : keyed)
    if (k == key) return (*h)(domain, data, len);
  if (keyed.size() == 64) keyed.erase(keyed.begin());  // many runtimes over time: keep the newest keys
  keyed.emplace_back(key, std::make_unique<keyed_hmac>(key));
  return (*keyed.back().second)(domain, data, len);
}

constexpr std::uint8_t domain_name = 1;
constexpr std::uint8_t domain_mac = 2;

std::array<std::uint8_t, 16> mac_of(const detail::namespace_state& ns, const actor_id::value_type& v) {
  auto d = hmac(ns.key, domain_mac, v.data(), v.size());
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
  auto d = hmac(ns.key, domain_name, name.data(), name.size());
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
  // Once per namespace: the one-shot HMAC takes a secret of any length.
  std::string msg(1, '\0');  // domain 0
  msg.append(ns_name);
  std::array<std::uint8_t, 32> out{};
  unsigned out_len = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &out_len))
    throw std::runtime_error("cairn: HMAC-SHA256 failed");
  return out;
}

}  // namespace detail
}  // namespace cairn
