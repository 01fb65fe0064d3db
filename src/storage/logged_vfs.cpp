#include "storage/logged_vfs.hpp"

#include <sqlite3.h>

#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string_view>

#include "storage/commit_log.hpp"
#include "storage/exclusive_vfs.hpp"
#include "storage/vfs_shim.hpp"

namespace cairn::detail {

namespace {

// Bigger batches than this go to the log before their epoch does.
constexpr std::size_t max_batch = std::size_t{4} << 20;

namespace shim = vfs_shim;

enum class kind : unsigned char { other, database, wal };

struct logged_file {
  shim::wrapped w;  // first: SQLite sees its base
  commit_log* log;  // the log of the data directory (database and WAL files)
  kind what;
  std::string path;  // relative to the log's data directory
};

logged_file* self(sqlite3_file* f) { return reinterpret_cast<logged_file*>(f); }

const sqlite3_io_methods& forward() {
  static const sqlite3_io_methods m = shim::forwarding_methods();
  return m;
}

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
  int rc = forward().xClose(f);
  self(f)->~logged_file();
  return rc;
}
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
  int rc = forward().xWrite(f, p, n, o);
  if (rc == SQLITE_OK && lf->what == kind::wal && lf->log->healthy())
    note(lf, [&](std::string& out) {
      commit_log::add_write(out, lf->path, static_cast<std::uint64_t>(o), p, static_cast<std::size_t>(n));
    });
  return rc;
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  logged_file* lf = self(f);
  int rc = forward().xTruncate(f, size);
  if (rc == SQLITE_OK && lf->what == kind::wal && lf->log->healthy())
    note(lf, [&](std::string& out) { commit_log::add_truncate(out, lf->path, static_cast<std::uint64_t>(size)); });
  return rc;
}
int x_sync(sqlite3_file* f, int flags) {
  logged_file* lf = self(f);
  if (lf->what == kind::wal && lf->log->healthy()) return SQLITE_OK;  // the log's sync covers it
  return forward().xSync(f, flags);
}

const sqlite3_io_methods& methods() {
  static const sqlite3_io_methods m = [] {
    sqlite3_io_methods x = forward();
    x.xClose = &x_close;
    x.xWrite = &x_write;
    x.xTruncate = &x_truncate;
    x.xSync = &x_sync;
    return x;
  }();
  return m;
}

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
  auto* lf = new (f) logged_file{{{nullptr}, shim::inner_file(f, sizeof(logged_file))}, log, what, std::string(rel)};
  int rc = inner->xOpen(inner, name, lf->w.real, flags, out_flags);
  shim::adopt_or_destroy(lf, f, methods());
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
    sqlite3_vfs* base = sqlite3_vfs_find(inner.empty() ? exclusive_vfs() : inner.c_str());
    if (!base) return nullptr;
    r = std::make_unique<registered>();
    r->name = inner.empty() ? "cairn-logged" : "cairn-logged:" + inner;
    r->vfs = vfs_shim::wrapping_vfs(base, r->name.c_str(), sizeof(logged_file), &x_open);
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
