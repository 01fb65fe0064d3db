// Fuzz target: request-target parsing (include/cairn/http/target.hpp), the
// only HTTP parsing cairn does itself (Beast parses the messages). Checks
// invariants, not just "no crash":
//   - percent_decode never yields NUL and undoes percent_encode;
//   - a parsed actor target has non-empty segments; a name never holds NUL;
//   - parsing ignores the query;
//   - a query parameter found is a decoded value that survives re-encoding.
// Built with libFuzzer by scripts/fuzz.sh (clang), and replayed by the test
// suite through replay_main.cpp (any compiler).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <cairn/http/target.hpp>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto d = cairn::http::percent_decode(in)) {
    check(d->find('\0') == std::string::npos);
    check(d->size() <= in.size());
    auto again = cairn::http::percent_decode(percent_encode(*d));
    check(again && *again == *d);
  }

  if (auto t = cairn::http::parse_actor_target(in)) {
    check(!t->namespace_name.empty() && !t->key.empty());
    check(t->namespace_name.find('\0') == std::string::npos);
    if (t->is_id) {
      check(t->key.find('/') == std::string::npos);
    } else {
      check(t->key.find('\0') == std::string::npos);
      // A '/' in a name can only come from an escape.
      check(t->key.find('/') == std::string::npos || in.find("%2F") != std::string_view::npos ||
            in.find("%2f") != std::string_view::npos);
    }
    // The query never changes the result.
    auto with_query = cairn::http::parse_actor_target(std::string(cairn::http::path_of(in)) + "?x=/y/z");
    check(with_query && with_query->namespace_name == t->namespace_name && with_query->key == t->key &&
          with_query->is_id == t->is_id);
  }
  if (auto v = cairn::http::query_param(in, "a")) {
    check(v->find('\0') == std::string::npos);
    auto again = cairn::http::query_param("/p?a=" + percent_encode(*v), "a");
    check(again && *again == *v);
  }
  return 0;
}
