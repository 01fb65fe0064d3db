// The fault-injecting VFS of cairn/testing/fault_vfs.hpp: SQLite's default
// VFS with every file wrapped, so that writes can be made to fail.
#include <cairn/testing/fault_vfs.hpp>

#include <sqlite3.h>

#include <atomic>
#include <mutex>

namespace cairn::testing {

namespace {

std::atomic<bool> failing{false};
sqlite3_vfs fault_vfs;
sqlite3_io_methods fault_methods;

struct wrapped_file {
  sqlite3_file base;      // must be first: SQLite sees this
  sqlite3_file* real;     // the default VFS's file, stored right after
};

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<wrapped_file*>(f)->real; }

int x_close(sqlite3_file* f) { return real(f)->pMethods ? real(f)->pMethods->xClose(real(f)) : SQLITE_OK; }
int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) { return real(f)->pMethods->xRead(real(f), p, n, o); }
int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  if (failing.load(std::memory_order_relaxed)) return SQLITE_FULL;
  return real(f)->pMethods->xWrite(real(f), p, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 n) {
  if (failing.load(std::memory_order_relaxed)) return SQLITE_IOERR_TRUNCATE;
  return real(f)->pMethods->xTruncate(real(f), n);
}
int x_sync(sqlite3_file* f, int flags) {
  if (failing.load(std::memory_order_relaxed)) return SQLITE_IOERR_FSYNC;
  return real(f)->pMethods->xSync(real(f), flags);
}
int x_size(sqlite3_file* f, sqlite3_int64* n) { return real(f)->pMethods->xFileSize(real(f), n); }
int x_lock(sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); }
int x_unlock(sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); }
int x_check(sqlite3_file* f, int* r) { return real(f)->pMethods->xCheckReservedLock(real(f), r); }
int x_control(sqlite3_file* f, int op, void* a) { return real(f)->pMethods->xFileControl(real(f), op, a); }
int x_sector(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_chars(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int x_shm_map(sqlite3_file* f, int i, int sz, int ext, void volatile** p) {
  return real(f)->pMethods->xShmMap(real(f), i, sz, ext, p);
}
int x_shm_lock(sqlite3_file* f, int o, int n, int fl) { return real(f)->pMethods->xShmLock(real(f), o, n, fl); }
void x_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int d) { return real(f)->pMethods->xShmUnmap(real(f), d); }
int x_fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** p) { return real(f)->pMethods->xFetch(real(f), o, n, p); }
int x_unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) { return real(f)->pMethods->xUnfetch(real(f), o, p); }

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* inner = static_cast<sqlite3_vfs*>(vfs->pAppData);
  auto* w = reinterpret_cast<wrapped_file*>(f);
  w->real = reinterpret_cast<sqlite3_file*>(w + 1);
  int rc = inner->xOpen(inner, name, w->real, flags, out_flags);
  w->base.pMethods = w->real->pMethods ? &fault_methods : nullptr;
  return rc;
}

}  // namespace

const char* install_fault_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_vfs* inner = sqlite3_vfs_find(nullptr);
    fault_vfs = *inner;
    fault_vfs.zName = "cairn-fault";
    fault_vfs.pNext = nullptr;
    fault_vfs.pAppData = inner;
    fault_vfs.szOsFile = static_cast<int>(sizeof(wrapped_file)) + inner->szOsFile;
    fault_vfs.xOpen = &x_open;
    fault_methods = sqlite3_io_methods{3,         &x_close,  &x_read,   &x_write,       &x_truncate, &x_sync,
                                       &x_size,   &x_lock,   &x_unlock, &x_check,       &x_control,  &x_sector,
                                       &x_chars,  &x_shm_map, &x_shm_lock, &x_shm_barrier, &x_shm_unmap, &x_fetch,
                                       &x_unfetch};
    sqlite3_vfs_register(&fault_vfs, 0);
  });
  return "cairn-fault";
}

void fail_writes(bool on) noexcept { failing.store(on, std::memory_order_relaxed); }

}  // namespace cairn::testing
