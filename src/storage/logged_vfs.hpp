#pragma once
// The VFS of `full` databases: the exclusive VFS (exclusive_vfs.hpp), or a
// test's (cairn/testing/fault_vfs.hpp), with every write and truncation of a WAL file
// copied into records of the commit log that owns the data directory
// (commit_log.hpp). A WAL file's own syncs do nothing while the log is
// healthy: the log's sync makes its writes durable. Before SQLite writes a
// database file (a checkpoint copying frames into it), the thread's records
// are appended and the log synced, so that no file is ever durable ahead of
// the log.
//
// A shard's thread batches its records (thread_records) and hands them to the
// log with the epoch its flush asks the group sync for; any other thread's go
// to the log one by one.
#include <cstddef>
#include <filesystem>
#include <string>

namespace cairn::detail {

class commit_log;

/// The registered name of the logged VFS over `inner` (empty: the exclusive
/// VFS), registering it on first use.
[[nodiscard]] const char* logged_vfs(const std::string& inner);

/// Records made on this thread and not yet appended to `log`.
struct thread_records {
  commit_log* log = nullptr;  // the log this thread batches for (a shard's runtime's)
  std::string bytes;
  bool unsynced = false;  // a WAL write since this thread's last append_and_sync
};
[[nodiscard]] thread_records& this_thread_records() noexcept;

/// Records that a new database file at `path` was written from `image`.
void log_database_created(const std::filesystem::path& path, const void* image, std::size_t n);

}  // namespace cairn::detail
