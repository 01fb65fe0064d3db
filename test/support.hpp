#pragma once
// Helpers shared by the test suites.
#include <cairn/runtime_options.hpp>

namespace cairn_test {

/// Options for a runtime with `n` shards.
inline cairn::runtime_options shards(unsigned n) {
  cairn::runtime_options o;
  o.shards = n;
  return o;
}

}  // namespace cairn_test
