#pragma once
/// `cairn::actor_namespace<T>`: the ids and references of one registered actor
/// class. Creating an id creates nothing; the actor comes into being when the
/// first message reaches it.
#include <string_view>

#include <cairn/actor_id.hpp>
#include <cairn/actor_ref.hpp>
#include <cairn/detail/namespace_state.hpp>

namespace cairn {

namespace detail {
actor_id id_from_name(const namespace_state& ns, std::string_view name);
actor_id new_unique_id(const namespace_state& ns);
actor_id id_from_string(const namespace_state& ns, std::string_view text);
}  // namespace detail

template <class T>
class actor_namespace {
 public:
  actor_namespace() noexcept = default;
  explicit actor_namespace(const detail::namespace_state* ns) noexcept : ns_(ns) {}

  [[nodiscard]] const std::string& name() const noexcept { return ns_->name; }

  /// Deterministic: the same name always gives the same id (for this secret).
  [[nodiscard]] actor_id id_from_name(std::string_view name) const { return detail::id_from_name(*ns_, name); }
  /// A fresh random id.
  [[nodiscard]] actor_id new_unique_id() const { return detail::new_unique_id(*ns_); }
  /// Parses the 64-hex-char form; throws cairn::invalid_id unless it is an id
  /// of this namespace.
  [[nodiscard]] actor_id id_from_string(std::string_view text) const {
    return detail::id_from_string(*ns_, text);
  }

  /// A reference to the actor with this id; throws invalid_id if the id
  /// belongs to another namespace.
  [[nodiscard]] actor_ref<T> get(const actor_id& id) const;
  [[nodiscard]] actor_ref<T> get(std::string_view name) const { return actor_ref<T>(id_from_name(name)); }

 private:
  const detail::namespace_state* ns_ = nullptr;
};

namespace detail {
[[noreturn]] void throw_foreign_id(const namespace_state& ns, const actor_id& id);
}

template <class T>
actor_ref<T> actor_namespace<T>::get(const actor_id& id) const {
  if (id.ns() != ns_) detail::throw_foreign_id(*ns_, id);
  return actor_ref<T>(id);
}

}  // namespace cairn
