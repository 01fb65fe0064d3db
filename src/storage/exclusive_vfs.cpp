#include "storage/exclusive_vfs.hpp"

#include <fcntl.h>
#include <cerrno>
#include <sqlite3.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string_view>

#include "storage/vfs_shim.hpp"

namespace cairn::detail {

namespace {

namespace shim = vfs_shim;

// SQLite's lock bytes (os.h): PENDING_BYTE, RESERVED_BYTE and the SHARED range.
constexpr off_t lock_first = 0x40000000;
constexpr off_t lock_bytes = 2 + 510;

struct exclusive_file {
  shim::wrapped w;    // first: SQLite sees its base
  int lock_fd = -1;  // holds the lock of a database file
};

exclusive_file* self(sqlite3_file* f) { return reinterpret_cast<exclusive_file*>(f); }

const sqlite3_io_methods& forward() {
  static const sqlite3_io_methods m = shim::forwarding_methods();
  return m;
}

int x_close(sqlite3_file* f) {
  int rc = forward().xClose(f);
  if (self(f)->lock_fd >= 0) ::close(self(f)->lock_fd);  // drops the lock
  self(f)->~exclusive_file();
  return rc;
}

const sqlite3_io_methods& methods() {
  static const sqlite3_io_methods m = [] {
    sqlite3_io_methods x = forward();
    x.xClose = &x_close;
    return x;
  }();
  return m;
}

// SQLITE_OK with the lock taken, SQLITE_BUSY if another open file holds it.
int lock_database(const char* path, int& fd) {
  fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return SQLITE_CANTOPEN;
  struct flock l {};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  l.l_start = lock_first;
  l.l_len = lock_bytes;
  int rc;
  do rc = ::fcntl(fd, F_OFD_SETLK, &l);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return SQLITE_OK;
  const int e = errno;
  ::close(fd);
  fd = -1;
  return e == EAGAIN || e == EACCES ? SQLITE_BUSY : SQLITE_IOERR_LOCK;
}

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* inner = static_cast<sqlite3_vfs*>(vfs->pAppData);
  auto* ef = new (f) exclusive_file{{{nullptr}, shim::inner_file(f, sizeof(exclusive_file))}};
  int rc = inner->xOpen(inner, name, ef->w.real, flags, out_flags);
  if (rc == SQLITE_OK && ef->w.real->pMethods && name && (flags & SQLITE_OPEN_MAIN_DB)) {
    rc = lock_database(name, ef->lock_fd);
    if (rc != SQLITE_OK) {
      ef->w.real->pMethods->xClose(ef->w.real);
      ef->w.real->pMethods = nullptr;
    }
  }
  shim::adopt_or_destroy(ef, f, methods());
  return rc;
}

// A path cairn made (absolute, no "." or ".." parts, no empty ones) is used
// as it is. SQLite's own version resolves symbolic links one part at a time,
// an lstat per part on every open (six for an actor's file); it does that so
// that connections reaching one file by two paths share its lock and WAL,
// which cannot happen here (one connection per database, one process per
// data directory).
int x_full_pathname(sqlite3_vfs* vfs, const char* name, int n_out, char* out) {
  const std::string_view p(name);
  const bool plain = p.size() > 1 && p.front() == '/' && p.back() != '/' && p.find("//") == p.npos &&
                     p.find("/./") == p.npos && p.find("/../") == p.npos && !p.ends_with("/.") &&
                     !p.ends_with("/..");
  if (!plain) {
    auto* inner = static_cast<sqlite3_vfs*>(vfs->pAppData);
    return inner->xFullPathname(inner, name, n_out, out);
  }
  if (p.size() >= static_cast<std::size_t>(n_out)) return SQLITE_CANTOPEN;
  std::memcpy(out, p.data(), p.size());
  out[p.size()] = '\0';
  return SQLITE_OK;
}

}  // namespace

const char* exclusive_vfs() {
  static std::once_flag once;
  static sqlite3_vfs vfs;
  std::call_once(once, [] {
    sqlite3_vfs* base = sqlite3_vfs_find("unix-none");
    if (!base) throw std::runtime_error("cairn: SQLite has no unix-none VFS");
    vfs = shim::wrapping_vfs(base, "cairn-exclusive", sizeof(exclusive_file), &x_open);
    vfs.xFullPathname = &x_full_pathname;
    sqlite3_vfs_register(&vfs, 0);
  });
  return "cairn-exclusive";
}

}  // namespace cairn::detail
