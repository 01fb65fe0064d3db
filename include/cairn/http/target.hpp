#pragma once
/// Reading request targets: the actor route `/<namespace>/<name or ~hex id>[/rest]`
/// and percent-decoding. Pure functions (io/target.cpp), fuzzed by
/// test/fuzz/target_fuzz.cpp.
#include <optional>
#include <string>
#include <string_view>

namespace cairn::http {

/// The segments of an actor route.
struct actor_target {
  std::string namespace_name;  // the first segment
  std::string key;             // the name (percent-decoded) or the hex id
  bool is_id = false;          // key came as `~<hex>`
};
/// nullopt unless `target` is `/<segment>/<segment>[/...][?query]` with
/// non-empty, well-formed (percent-encoding) segments.
[[nodiscard]] std::optional<actor_target> parse_actor_target(std::string_view target);
/// Decodes %XX escapes; nullopt if one is malformed or the result would hold a NUL.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view s);

/// The path of a request target: up to '?' or '#'.
[[nodiscard]] std::string_view path_of(std::string_view target) noexcept;

/// The value of the first `name=value` pair of the target's query, decoded
/// as a form (`+` is a space, then %XX). nullopt if the name is absent or the
/// value is malformed; an empty string for `name` or `name=`.
[[nodiscard]] std::optional<std::string> query_param(std::string_view target, std::string_view name);

}  // namespace cairn::http
