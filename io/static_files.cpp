// Static files: a path under a prefix, checked to stay inside its folder, read
// with io_uring (Asio's random_access_file) on the calling shard.
#include <cairn/http/static_files.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/random_access_file.hpp>

#include <array>
#include <utility>

#include <cairn/detail/shard.hpp>
#include <cairn/http/target.hpp>
#include <cairn/use_task.hpp>

namespace cairn::http {

namespace fs = std::filesystem;

std::string_view content_type_of(const fs::path& file) noexcept {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 18> types{{
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".gif", "image/gif"}, {".webp", "image/webp"},
      {".ico", "image/x-icon"}, {".wasm", "application/wasm"}, {".woff2", "font/woff2"},
      {".map", "application/json"}, {".xml", "application/xml"},
  }};
  const std::string ext = file.extension().string();
  for (auto& [e, t] : types)
    if (ext == e) return t;
  return "application/octet-stream";
}

namespace {

/// The file under `root` that `rest` (the path after the prefix, still
/// percent-encoded) names, or nullopt if it would leave `root`.
std::optional<fs::path> resolve(const fs::path& root, std::string_view rest) {
  auto decoded = percent_decode(rest);
  if (!decoded) return std::nullopt;
  fs::path p = root;
  std::string_view s = *decoded;
  while (!s.empty()) {
    auto slash = s.find('/');
    std::string_view seg = s.substr(0, slash);
    if (seg == ".." || seg.find('\\') != std::string_view::npos) return std::nullopt;
    if (!seg.empty() && seg != ".") p /= std::string(seg);
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  std::error_code ec;
  if (fs::is_directory(p, ec)) p /= "index.html";
  // Symbolic links may point anywhere: the real path must stay inside.
  const fs::path real = fs::weakly_canonical(p, ec);
  if (ec) return std::nullopt;
  auto [r, _] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  if (r != root.end()) return std::nullopt;
  return real;
}

}  // namespace

handler static_files(std::string prefix, fs::path folder, std::size_t max_bytes) {
  while (prefix.size() > 1 && prefix.ends_with('/')) prefix.pop_back();
  std::error_code ec;
  fs::path root = fs::canonical(folder, ec);
  if (ec) throw std::invalid_argument("cairn: static_files: no folder " + folder.string() + ": " + ec.message());
  return [prefix = std::move(prefix), root = std::move(root), max_bytes](request req) -> task<response> {
    if (req.method() != verb::get && req.method() != verb::head) {
      auto res = make_response(status::method_not_allowed, "GET or HEAD\n");
      res.set(field::allow, "GET, HEAD");
      co_return res;
    }
    std::string_view path = path_of(req.target());
    if (!path.starts_with(prefix)) co_return make_response(status::not_found, "not found\n");
    path.remove_prefix(prefix == "/" ? 1 : prefix.size());
    auto file = resolve(root, path);
    std::error_code ec;
    if (!file || !fs::is_regular_file(*file, ec)) co_return make_response(status::not_found, "not found\n");
    const auto size = fs::file_size(*file, ec);
    if (ec) co_return make_response(status::not_found, "not found\n");
    if (size > max_bytes) co_return make_response(status::payload_too_large, "file too large\n");

    boost::asio::random_access_file f(cairn::detail::shard::current()->io());
    boost::system::error_code open_error;
    f.open(file->string(), boost::asio::random_access_file::read_only, open_error);
    if (open_error) co_return make_response(status::not_found, "not found\n");
    std::string body(size, '\0');
    std::size_t done = 0;
    while (done < size) {
      auto [rec, n] = co_await f.async_read_some_at(done, boost::asio::buffer(body.data() + done, size - done),
                                                    boost::asio::as_tuple(cairn::use_task));
      if (rec || n == 0) break;  // an error, or the file shrank
      done += n;
    }
    body.resize(done);
    co_return make_response(status::ok, std::move(body), content_type_of(*file));
  };
}

}  // namespace cairn::http
