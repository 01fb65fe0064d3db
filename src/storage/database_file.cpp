#include "storage/database_file.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <cairn/errors.hpp>

namespace cairn::detail {

const char* const cairn_schema =
    "CREATE TABLE IF NOT EXISTS _cairn_kv(key BLOB PRIMARY KEY, value BLOB NOT NULL, is_bytes INTEGER NOT NULL) "
    "WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS _cairn_alarm(one INTEGER PRIMARY KEY CHECK (one = 1), at_ms INTEGER NOT NULL, "
    "retry INTEGER NOT NULL);"
    // The name the actor was first reached by (id_from_name), for ctx.id.name.
    "CREATE TABLE IF NOT EXISTS _cairn_name(one INTEGER PRIMARY KEY CHECK (one = 1), name TEXT NOT NULL)";

namespace {

struct image {
  std::unique_ptr<unsigned char, decltype(&sqlite3_free)> bytes{nullptr, &sqlite3_free};
  sqlite3_int64 size = 0;
};

// An in-memory database with the schema, serialized. Bytes 18 and 19 of the
// header are the file format's write and read versions: 2 means WAL, which
// is what `PRAGMA journal_mode=WAL` writes there (sqlite.org/fileformat.html).
image make_image() {
  sqlite3* db = nullptr;
  image out;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK &&
      sqlite3_exec(db, cairn_schema, nullptr, nullptr, nullptr) == SQLITE_OK) {
    out.bytes.reset(sqlite3_serialize(db, "main", &out.size, 0));
  }
  sqlite3_close_v2(db);
  if (!out.bytes || out.size < 100)
    throw storage_error(storage_error::reason::io, "cairn: SQLite could not make the image of a new database");
  out.bytes.get()[18] = 2;
  out.bytes.get()[19] = 2;
  return out;
}

const image& the_image() {
  static const image img = make_image();  // thread-safe, once per process
  return img;
}

}  // namespace

std::span<const unsigned char> database_image() {
  const image& img = the_image();
  return {img.bytes.get(), static_cast<std::size_t>(img.size)};
}

void make_parent_folders(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    throw storage_error(storage_error::reason::io,
                        "cairn: cannot create " + path.parent_path().string() + ": " + ec.message());
}

bool create_database_file(const std::filesystem::path& path) {
  const image& img = the_image();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {  // its folder is new too
    make_parent_folders(path);
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw storage_error(storage_error::reason::io,
                        "cairn: cannot create " + path.string() + ": " + std::strerror(errno));
  }
  // Leaves no half-written file behind.
  auto fail = [&](const std::string& why) {
    ::unlink(path.c_str());
    throw storage_error(storage_error::reason::io, "cairn: cannot write " + path.string() + ": " + why);
  };
  const unsigned char* p = img.bytes.get();
  auto left = static_cast<std::size_t>(img.size);
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? std::strerror(errno) : "short write";
      ::close(fd);
      fail(why);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) fail(std::strerror(errno));
  return true;
}

}  // namespace cairn::detail
