#pragma once
// One runtime at a time owns a data directory: its commit log, its alarm
// index and every actor database in it assume no other writer. A runtime
// locks the directory itself (flock on the directory, so no file is made)
// before it replays the log, and holds the lock until its last sync; a second
// runtime on the same directory, in this process or another, gets a
// storage_error naming the holder's pid. The kernel drops the lock with the
// process, so a killed server leaves nothing to clean up.
#include <filesystem>

namespace cairn::detail {

class data_dir_lock {
 public:
  /// Creates the directory if needed and locks it; throws storage_error
  /// (reason::unavailable) if another runtime holds it. A directory that
  /// cannot be made or opened is left unlocked: nothing can be stored there
  /// either, and storage reports that on use.
  explicit data_dir_lock(const std::filesystem::path& dir);
  ~data_dir_lock();
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace cairn::detail
