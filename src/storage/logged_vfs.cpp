#include "storage/logged_vfs.hpp"

#include <sqlite3.h>

#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string_view>

#include "storage/commit_log.hpp"

namespace cairn::detail {

namespace {

// Bigger batches than this go to the log before their epoch does.
constexpr std::size_t max_batch = std::size_t{4} << 20;

enum class kind : unsigned char { other, database, wal };

struct logged_file {
  sqlite3_file base;   // first: SQLite sees this
  sqlite3_file* real;  // the inner VFS's file, stored after this struct (wrapper_bytes)
  commit_log* log;     // the log of the data directory (database and WAL files)
  kind what;
  std::string path;  // relative to the log's data directory
};

// Rounded up so that the inner VFS's file, stored right after, stays aligned.
constexpr std::size_t wrapper_bytes = (sizeof(logged_file) + 15) / 16 * 16;

logged_file* self(sqlite3_file* f) { return reinterpret_cast<logged_file*>(f); }
sqlite3_file* real(sqlite3_file* f) { return self(f)->real; }

// Adds a record (built by `build`) to this thread's batch for the file's log,
// or appends it to the log at once from a thread that batches for no log.
template <class Build>
void note(logged_file* lf, Build build) {
  thread_records& t = this_thread_records();
  t.unsynced = true;
  if (t.log == lf->log) {
    build(t.bytes);
    if (t.bytes.size() > max_batch) {
      lf->log->append(t.bytes);
      t.bytes.clear();
    }
  } else {
    std::string one;
    build(one);
    lf->log->append(one);
  }
}

int x_close(sqlite3_file* f) {
  int rc = real(f)->pMethods ? real(f)->pMethods->xClose(real(f)) : SQLITE_OK;
  self(f)->~logged_file();
  return rc;
}
int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) { return real(f)->pMethods->xRead(real(f), p, n, o); }
int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  logged_file* lf = self(f);
  if (lf->what == kind::database && lf->log->healthy()) {
    // A checkpoint: the frames it copies must be durable in the log first.
    thread_records& t = this_thread_records();
    if (t.unsynced) {
      std::string none;
      if (lf->log->append_and_sync(t.log == lf->log ? t.bytes : none) != 0) return SQLITE_IOERR_WRITE;
      t.unsynced = false;
    }
  }
  int rc = real(f)->pMethods->xWrite(real(f), p, n, o);
  if (rc == SQLITE_OK && lf->what == kind::wal && lf->log->healthy())
    note(lf, [&](std::string& out) {
      commit_log::add_write(out, lf->path, static_cast<std::uint64_t>(o), p, static_cast<std::size_t>(n));
    });
  return rc;
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  logged_file* lf = self(f);
  int rc = real(f)->pMethods->xTruncate(real(f), size);
  if (rc == SQLITE_OK && lf->what == kind::wal && lf->log->healthy())
    note(lf, [&](std::string& out) { commit_log::add_truncate(out, lf->path, static_cast<std::uint64_t>(size)); });
  return rc;
}
int x_sync(sqlite3_file* f, int flags) {
  logged_file* lf = self(f);
  if (lf->what == kind::wal && lf->log->healthy()) return SQLITE_OK;  // the log's sync covers it
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

const sqlite3_io_methods methods{3,        &x_close,   &x_read,    &x_write,    &x_truncate,    &x_sync,
                                 &x_size,  &x_lock,    &x_unlock,  &x_check,    &x_control,     &x_sector,
                                 &x_chars, &x_shm_map, &x_shm_lock, &x_shm_barrier, &x_shm_unmap, &x_fetch,
                                 &x_unfetch};

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* inner = static_cast<sqlite3_vfs*>(vfs->pAppData);
  const kind what = (flags & SQLITE_OPEN_MAIN_DB) ? kind::database : (flags & SQLITE_OPEN_WAL) ? kind::wal : kind::other;
  commit_log* log = nullptr;
  std::string_view rel;
  if (what != kind::other) {
    // A `full` database outside every log's data directory would not be durable.
    if (!name || !(log = commit_log::owner_of(name, rel))) {
      f->pMethods = nullptr;
      return SQLITE_CANTOPEN;
    }
  }
  auto* lf = new (f) logged_file{{nullptr}, nullptr, log, what, std::string(rel)};
  lf->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + wrapper_bytes);
  int rc = inner->xOpen(inner, name, lf->real, flags, out_flags);
  if (lf->real->pMethods) {
    lf->base.pMethods = &methods;
  } else {
    lf->~logged_file();  // SQLite calls no xClose for a file without methods
    f->pMethods = nullptr;
  }
  return rc;
}

struct registered {
  std::string name;
  sqlite3_vfs vfs;
};

}  // namespace

thread_records& this_thread_records() noexcept {
  thread_local thread_records t;
  return t;
}

const char* logged_vfs(const std::string& inner) {
  static std::mutex m;
  static std::map<std::string, std::unique_ptr<registered>> vfss;
  std::lock_guard lock(m);
  auto& r = vfss[inner];
  if (!r) {
    sqlite3_vfs* base = sqlite3_vfs_find(inner.empty() ? nullptr : inner.c_str());
    if (!base) return nullptr;
    r = std::make_unique<registered>();
    r->name = inner.empty() ? "cairn-logged" : "cairn-logged:" + inner;
    r->vfs = *base;
    r->vfs.zName = r->name.c_str();
    r->vfs.pNext = nullptr;
    r->vfs.pAppData = base;
    r->vfs.szOsFile = static_cast<int>(wrapper_bytes) + base->szOsFile;
    r->vfs.xOpen = &x_open;
    sqlite3_vfs_register(&r->vfs, 0);
  }
  return r->name.c_str();
}

void log_database_created(const std::filesystem::path& path, const void* image, std::size_t n) {
  std::string_view rel;
  const std::string p = std::filesystem::absolute(path).lexically_normal().string();
  commit_log* log = commit_log::owner_of(p, rel);
  if (!log || !log->healthy()) return;  // then nothing relies on the log: the group sync is a syncfs
  thread_records& t = this_thread_records();
  if (t.log == log) {
    commit_log::add_create(t.bytes, rel, image, n);
  } else {
    std::string one;
    commit_log::add_create(one, rel, image, n);
    log->append(one);
  }
}

}  // namespace cairn::detail
