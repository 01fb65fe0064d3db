#include "storage/vfs_shim.hpp"

namespace cairn::detail::vfs_shim {

namespace {

int x_close(sqlite3_file* f) { return real(f)->pMethods ? real(f)->pMethods->xClose(real(f)) : SQLITE_OK; }
int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) { return real(f)->pMethods->xRead(real(f), p, n, o); }
int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  return real(f)->pMethods->xWrite(real(f), p, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 n) { return real(f)->pMethods->xTruncate(real(f), n); }
int x_sync(sqlite3_file* f, int flags) { return real(f)->pMethods->xSync(real(f), flags); }
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

}  // namespace

sqlite3_io_methods forwarding_methods() {
  return sqlite3_io_methods{3,         &x_close,    &x_read,       &x_write,     &x_truncate, &x_sync,
                            &x_size,   &x_lock,     &x_unlock,     &x_check,     &x_control,  &x_sector,
                            &x_chars,  &x_shm_map,  &x_shm_lock,   &x_shm_barrier, &x_shm_unmap, &x_fetch,
                            &x_unfetch};
}

sqlite3_vfs wrapping_vfs(sqlite3_vfs* inner, const char* name, std::size_t wrapper_size,
                         int (*open)(sqlite3_vfs*, sqlite3_filename, sqlite3_file*, int, int*)) {
  sqlite3_vfs v = *inner;
  v.zName = name;
  v.pNext = nullptr;
  v.pAppData = inner;
  v.szOsFile = static_cast<int>(inner_offset(wrapper_size)) + inner->szOsFile;
  v.xOpen = open;
  return v;
}

}  // namespace cairn::detail::vfs_shim
