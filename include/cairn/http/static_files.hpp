#pragma once
/// Static files under a URL prefix (pages of an example, a client app):
///
///   routes.add("/app", cairn::http::static_files("/app", "/srv/www"));
///
/// GET and HEAD only (405 otherwise). `/app/x/y.js` is `/srv/www/x/y.js`;
/// a folder serves its index.html. A path that would leave the folder
/// (`..`, plain or percent-encoded, or a symbolic link out of it) is 404, as is a missing
/// file; a file larger than `max_bytes` is 413. Files are read through
/// io_uring, on the connection's shard.
#include <cstddef>
#include <filesystem>
#include <string>

#include <cairn/http/router.hpp>

namespace cairn::http {

[[nodiscard]] handler static_files(std::string prefix, std::filesystem::path folder,
                                   std::size_t max_bytes = 16 * 1024 * 1024);

/// The Content-Type for a file name's extension (application/octet-stream if unknown).
[[nodiscard]] std::string_view content_type_of(const std::filesystem::path& file) noexcept;

}  // namespace cairn::http
