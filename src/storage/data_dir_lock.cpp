#include "storage/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <cairn/errors.hpp>

namespace cairn::detail {

namespace {

// The pid of the process holding the flock of the directory open as `fd`,
// from /proc/locks ("1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF"), or ""
// when it cannot be told.
std::string holder_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return {};
  std::ostringstream want;
  want << std::hex;
  want.fill('0');
  want.width(2);
  want << major(st.st_dev) << ':';
  want.width(2);
  want << minor(st.st_dev) << ':' << std::dec << st.st_ino;
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream in(line);
    std::string n, kind, advisory, mode, pid, where;
    if (in >> n >> kind >> advisory >> mode >> pid >> where && kind == "FLOCK" && where == want.str()) return pid;
  }
  return {};
}

}  // namespace

data_dir_lock::data_dir_lock(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) return;
  // flock, not fcntl: it belongs to this open directory, so a second runtime
  // in the same process is refused too.
  int rc;
  do rc = ::flock(fd_, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return;
  const int e = errno;
  const std::string who = e == EWOULDBLOCK ? holder_of(fd_) : std::string();
  ::close(fd_);
  fd_ = -1;
  if (e != EWOULDBLOCK)
    throw storage_error(storage_error::reason::io,
                        "cairn: cannot lock the data directory " + dir.string() + ": " + std::generic_category().message(e));
  throw storage_error(storage_error::reason::unavailable,
                      "cairn: the data directory " + dir.string() + " is in use by another runtime" +
                          (who.empty() ? std::string() : " (process " + who + ")"));
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) ::close(fd_);  // drops the lock
}

}  // namespace cairn::detail
