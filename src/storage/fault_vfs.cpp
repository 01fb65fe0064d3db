// The fault-injecting VFS of cairn/testing/fault_vfs.hpp: the VFS actor
// databases use (storage/exclusive_vfs.hpp) with every file wrapped, so that
// writes can be made to fail.
#include <cairn/testing/fault_vfs.hpp>

#include <sqlite3.h>

#include <atomic>
#include <mutex>

#include "storage/exclusive_vfs.hpp"
#include "storage/vfs_shim.hpp"

namespace cairn::testing {

namespace {

namespace shim = cairn::detail::vfs_shim;

std::atomic<bool> failing{false};
sqlite3_vfs fault_vfs;
sqlite3_io_methods fault_methods;
const sqlite3_io_methods* forward = nullptr;  // the forwarding methods the failing ones fall back to

bool fail_now() { return failing.load(std::memory_order_relaxed); }

int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  return fail_now() ? SQLITE_FULL : forward->xWrite(f, p, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 n) { return fail_now() ? SQLITE_IOERR_TRUNCATE : forward->xTruncate(f, n); }
int x_sync(sqlite3_file* f, int flags) { return fail_now() ? SQLITE_IOERR_FSYNC : forward->xSync(f, flags); }

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* inner = static_cast<sqlite3_vfs*>(vfs->pAppData);
  auto* w = reinterpret_cast<shim::wrapped*>(f);
  w->real = shim::inner_file(f, sizeof(shim::wrapped));
  int rc = inner->xOpen(inner, name, w->real, flags, out_flags);
  w->base.pMethods = w->real->pMethods ? &fault_methods : nullptr;
  return rc;
}

}  // namespace

const char* install_fault_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    static const sqlite3_io_methods forwarding = shim::forwarding_methods();
    forward = &forwarding;
    fault_methods = forwarding;
    fault_methods.xWrite = &x_write;
    fault_methods.xTruncate = &x_truncate;
    fault_methods.xSync = &x_sync;
    fault_vfs = shim::wrapping_vfs(sqlite3_vfs_find(cairn::detail::exclusive_vfs()), "cairn-fault", sizeof(shim::wrapped), &x_open);
    sqlite3_vfs_register(&fault_vfs, 0);
  });
  return "cairn-fault";
}

void fail_writes(bool on) noexcept { failing.store(on, std::memory_order_relaxed); }

}  // namespace cairn::testing
