#pragma once
// What the runtime knows about one registered namespace.
#include <array>
#include <cstdint>
#include <string>

#include <cairn/durability.hpp>
#include <cairn/task.hpp>

namespace cairn {
class actor;
class runtime;
}  // namespace cairn

namespace cairn::detail {

class runtime_core;

struct namespace_state {
  std::string name;
  std::uint32_t index = 0;           // position in the runtime's namespace table
  std::array<std::uint8_t, 32> key{};  // MAC key of this namespace's ids
  runtime_core* core = nullptr;
  actor* (*create)() = nullptr;               // constructs the actor class
  task<void> (*start)(actor&) = nullptr;      // its on_start(), if it has one
  const void* type_tag = nullptr;             // identifies the actor class
  cairn::durability durability = cairn::durability::full;  // of its actors' storage
};

template <class T>
const void* type_tag() noexcept {
  static const char tag = 0;
  return &tag;
}

}  // namespace cairn::detail
