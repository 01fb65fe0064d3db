#include "storage/commit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <system_error>
#include <vector>

#include <cairn/errors.hpp>

namespace cairn::detail {

namespace {

// Records start after a header block of their own, so a torn record never
// touches the header. Host byte order: the log never leaves the machine.
constexpr std::uint64_t header_bytes = 4096;
constexpr char magic[8] = {'c', 'a', 'i', 'r', 'n', 'l', 'g', '1'};
// The keeper writes zeros ahead of the cursor this much at a time: an
// fdatasync of writes into blocks already written needs no journal commit.
constexpr std::uint64_t fill_chunk = std::uint64_t{1} << 20;

enum op : std::uint8_t { op_write = 1, op_truncate = 2, op_create = 3 };

struct record_head {
  std::uint32_t head_crc;  // of the bytes after it, generation included
  std::uint32_t body_len;  // the path, then the data
  std::uint64_t generation;
  std::uint32_t body_crc;
  std::uint8_t op;
  std::uint8_t pad;
  std::uint16_t path_len;
  std::uint64_t arg;  // the offset of a write, the size of a truncation
};
static_assert(sizeof(record_head) == 32);

std::uint32_t crc(const void* p, std::size_t n, std::uint32_t seed = 0) {
  auto c = static_cast<uLong>(seed);
  const auto* b = static_cast<const Bytef*>(p);
  while (n > 0) {  // zlib takes a uInt length
    const auto k = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    c = ::crc32(c, b, k);
    b += k;
    n -= k;
  }
  return static_cast<std::uint32_t>(c);
}

std::uint32_t head_crc(const record_head& h) {
  return crc(reinterpret_cast<const char*>(&h) + 4, sizeof h - 4);
}

void add_record(std::string& out, op kind, std::string_view path, std::uint64_t arg, const void* data, std::size_t n) {
  record_head h{};
  h.body_len = static_cast<std::uint32_t>(path.size() + n);
  h.op = kind;
  h.path_len = static_cast<std::uint16_t>(path.size());
  h.arg = arg;
  h.body_crc = crc(data, n, crc(path.data(), path.size()));
  out.append(reinterpret_cast<const char*>(&h), sizeof h);
  out.append(path);
  out.append(static_cast<const char*>(data), n);
}

// A retired segment keeps its generation in its header: the next one must
// be newer than every record a segment file may still hold past its cursor.
struct segment_header {
  char magic[8];
  std::uint64_t generation;
  std::uint32_t live;  // 1: its records are to be replayed; 0: retired
  std::uint32_t crc;   // of the bytes before it
};

segment_header make_header(std::uint64_t generation, bool live) {
  segment_header h{};
  std::memcpy(h.magic, magic, sizeof magic);
  h.generation = generation;
  h.live = live ? 1 : 0;
  h.crc = crc(&h, offsetof(segment_header, crc));
  return h;
}

std::mutex registry_mutex;
std::vector<commit_log*> registry;

[[noreturn]] void replay_failed(const std::string& what, int error) {
  throw storage_error(storage_error::reason::io,
                      "cairn: replaying the commit log: " + what + ": " + std::strerror(error));
}

bool write_all(int fd, const char* p, std::size_t n, std::uint64_t at) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(at));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    at += static_cast<std::uint64_t>(w);
  }
  return true;
}

const char* zeros() {
  static const std::unique_ptr<char[]> z(new char[header_bytes]());
  return z.get();
}

std::string segment_name(int i) { return ".cairn-log." + std::to_string(i); }

}  // namespace

void commit_log::add_write(std::string& out, std::string_view path, std::uint64_t offset, const void* data,
                           std::size_t n) {
  add_record(out, op_write, path, offset, data, n);
}
void commit_log::add_truncate(std::string& out, std::string_view path, std::uint64_t size) {
  add_record(out, op_truncate, path, size, nullptr, 0);
}
void commit_log::add_create(std::string& out, std::string_view path, const void* image, std::size_t n) {
  add_record(out, op_create, path, 0, image, n);
}

commit_log::commit_log(std::filesystem::path data_dir, std::size_t segment_bytes)
    : dir_(std::move(data_dir)), segment_bytes_(std::max(segment_bytes, min_segment_bytes)) {
  std::error_code ec;
  root_ = std::filesystem::absolute(dir_).lexically_normal().string();
  canonical_root_ = std::filesystem::weakly_canonical(dir_, ec).string();
  for (auto* r : {&root_, &canonical_root_})
    if (r->empty() || r->back() != '/') *r += '/';
  // Nothing to replay in a folder that is not there; the first segment makes it.
  if (std::filesystem::is_directory(dir_, ec)) {
    dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) replay_failed("cannot open " + dir_.string(), errno);
    try {
      replay();
    } catch (...) {
      for (auto& s : segments_)
        if (s.fd >= 0) ::close(s.fd);
      ::close(dir_fd_);
      throw;
    }
  }
  keeper_ = std::thread([this] { keeper_loop(); });
  std::lock_guard lock(registry_mutex);
  registry.push_back(this);
}

commit_log::~commit_log() {
  {
    std::lock_guard lock(registry_mutex);
    registry.erase(std::remove(registry.begin(), registry.end(), this), registry.end());
  }
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  keeper_work_.notify_all();
  keeper_done_.notify_all();
  keeper_.join();
  // A clean stop leaves nothing to replay.
  if ((segments_[0].generation != 0 || segments_[1].generation != 0) && dir_fd_ >= 0 && ::syncfs(dir_fd_) == 0)
    for (auto& s : segments_)
      if (s.generation != 0) clear_header(s);
  for (auto& s : segments_)
    if (s.fd >= 0) ::close(s.fd);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

commit_log* commit_log::owner_of(std::string_view path, std::string_view& relative) noexcept {
  std::lock_guard lock(registry_mutex);
  commit_log* owner = nullptr;
  std::size_t longest = 0;  // a data directory inside another's belongs to its own log
  for (commit_log* l : registry)
    for (const std::string* r : {&l->root_, &l->canonical_root_})
      if (r->size() > longest && path.size() > r->size() && path.substr(0, r->size()) == *r) {
        owner = l;
        longest = r->size();
      }
  if (owner) relative = path.substr(longest);
  return owner;
}

// A segment file that is there (for replay), with what it holds.
void commit_log::open_segment(int i) {
  segment& s = segments_[i];
  const std::string path = (dir_ / segment_name(i)).string();
  s.fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (s.fd < 0 && (errno == EACCES || errno == EROFS)) {
    // Enough to see that it is retired; a live one cannot be cleared, and
    // replay fails on it. The first record reopens it (and fails there).
    s.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    s.read_only = s.fd >= 0;
  }
  if (s.fd < 0) {
    if (errno == ENOENT) return;
    replay_failed("cannot open " + path, errno);
  }
  struct stat st {};
  if (::fstat(s.fd, &st) != 0) replay_failed("cannot read " + path, errno);
  s.allocated = static_cast<std::uint64_t>(st.st_size);
}

// Makes the folder and the segment's file when the first record needs them.
bool commit_log::create_segment(segment& s, int i) {
  if (dir_fd_ < 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
      fail(ec.value());
      return false;
    }
    dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) {
      fail(errno);
      return false;
    }
  }
  const std::string path = (dir_ / segment_name(i)).string();
  s.fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  // Its folder entry durable once, before any record relies on it.
  if (s.fd < 0 || ::fsync(dir_fd_) != 0) {
    fail(errno);
    return false;
  }
  s.allocated = 0;
  return true;
}

// Applies the records of the live segments, oldest first, to their files;
// makes the files durable; clears the segments.
void commit_log::replay() {
  struct live {
    std::uint64_t generation;
    int index;
    std::string bytes;
  };
  std::vector<live> segs;
  for (int i = 0; i < 2; ++i) {
    open_segment(i);
    segment_header h{};
    if (segments_[i].fd < 0 || segments_[i].allocated < header_bytes ||
        ::pread(segments_[i].fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
      continue;
    if (std::memcmp(h.magic, magic, sizeof magic) != 0 || h.crc != crc(&h, offsetof(segment_header, crc))) continue;
    last_generation_ = std::max(last_generation_, h.generation);
    if (h.live != 1 || h.generation == 0) continue;
    if (segments_[i].read_only) replay_failed("cannot write " + segment_name(i), EACCES);
    segments_[i].generation = h.generation;
    std::string bytes(segments_[i].allocated, '\0');
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t r = ::pread(segments_[i].fd, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) replay_failed("cannot read " + segment_name(i), errno);
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    bytes.resize(got);
    segs.push_back({h.generation, i, std::move(bytes)});
  }
  std::sort(segs.begin(), segs.end(), [](const live& a, const live& b) { return a.generation < b.generation; });

  // One descriptor per file written; -1 for a WAL whose database is gone.
  std::map<std::string, int, std::less<>> files;
  struct closer {
    std::map<std::string, int, std::less<>>& m;
    ~closer() {
      for (auto& [p, fd] : m)
        if (fd >= 0) ::close(fd);
    }
  } close_all{files};
  auto target = [&](std::string_view rel) {
    auto it = files.find(rel);
    if (it != files.end()) return it->second;
    const std::string full = (dir_ / std::string(rel)).string();
    std::string db = full;
    if (db.size() > 4 && db.compare(db.size() - 4, 4, "-wal") == 0) db.resize(db.size() - 4);
    int fd = -1;
    std::error_code ec;
    if (std::filesystem::exists(full, ec) || std::filesystem::exists(db, ec)) {
      fd = ::open(full.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) replay_failed("cannot open " + full, errno);
    }
    files.emplace(std::string(rel), fd);
    return fd;
  };

  for (const live& seg : segs) {
    std::size_t pos = header_bytes;
    const std::string& b = seg.bytes;
    while (pos + sizeof(record_head) <= b.size()) {
      record_head h;
      std::memcpy(&h, b.data() + pos, sizeof h);
      if (h.generation != seg.generation || h.head_crc != head_crc(h) || h.path_len > h.body_len ||
          h.body_len > b.size() - pos - sizeof h)
        break;  // the end of what was written (or a torn tail)
      const char* body = b.data() + pos + sizeof h;
      if (crc(body, h.body_len) != h.body_crc) break;
      const std::string_view rel(body, h.path_len);
      const char* data = body + h.path_len;
      const std::size_t n = h.body_len - h.path_len;
      if (h.op == op_create) {
        const std::filesystem::path full = dir_ / std::string(rel);
        struct stat st {};
        if (::stat(full.c_str(), &st) != 0 || st.st_size == 0) {
          std::error_code ec;
          std::filesystem::create_directories(full.parent_path(), ec);
          const int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
          if (fd < 0) replay_failed("cannot create " + full.string(), errno);
          const bool ok = write_all(fd, data, n, 0);
          const int error = errno;
          ::close(fd);
          if (!ok) replay_failed("cannot write " + full.string(), error);
        }
      } else if (const int fd = target(rel); fd >= 0) {
        const bool ok = h.op == op_write ? write_all(fd, data, n, h.arg)
                                         : ::ftruncate(fd, static_cast<off_t>(h.arg)) == 0;
        if (!ok) replay_failed("cannot write " + (dir_ / std::string(rel)).string(), errno);
      }
      ++replayed_.records;
      pos += sizeof h + h.body_len;
    }
  }
  replayed_.files = files.size();
  // Also without a log to replay: what the files hold from before (a run in
  // `normal` durability that was killed) must be durable before the log's
  // records build on it, or a WAL could hold a hole before logged frames.
  std::error_code ec;
  if (segs.empty() && std::filesystem::directory_iterator(dir_, ec) == std::filesystem::directory_iterator()) return;
  if (::syncfs(dir_fd_) != 0) replay_failed("cannot sync " + dir_.string(), errno);
  for (const live& seg : segs)
    if (const int e = clear_header(segments_[seg.index])) replay_failed("cannot clear " + segment_name(seg.index), e);
}

int commit_log::clear_header(segment& s) noexcept {
  const segment_header h = make_header(s.generation, false);
  if (!write_all(s.fd, reinterpret_cast<const char*>(&h), sizeof h, 0)) return errno;
  if (::fdatasync(s.fd) != 0) return errno;
  s.generation = 0;
  return 0;
}

void commit_log::fail(int error) noexcept {
  if (error_ == 0) error_ = error;
  unhealthy_.store(true, std::memory_order_release);
}

void commit_log::abandon(int error) noexcept {
  std::lock_guard lock(mutex_);
  fail(error);
}

bool commit_log::healthy() const noexcept { return !unhealthy_.load(std::memory_order_acquire); }

std::uint64_t commit_log::fill_target() const noexcept {
  // Twice what is written, so that a log hardly used fills little.
  const std::uint64_t want = std::max(cursor_ * 2, cursor_ + fill_chunk);
  return std::min<std::uint64_t>(segment_bytes_, (want + fill_chunk - 1) / fill_chunk * fill_chunk);
}

bool commit_log::write_at(std::unique_lock<std::mutex>& lock, segment& s, std::uint64_t at, const char* p,
                          std::size_t n) {
  const std::uint64_t end = at + n;
  // Never where the keeper is writing zeros.
  keeper_done_.wait(lock, [&] { return end <= s.allocated || !s.filling; });
  if (!write_all(s.fd, p, n, at)) {
    fail(errno);
    return false;
  }
  s.dirty = true;
  ++written_;
  s.allocated = std::max(s.allocated, end);
  if (s.allocated < fill_target()) keeper_work_.notify_one();
  return true;
}

bool commit_log::start_segment(std::unique_lock<std::mutex>& lock, int i) {
  segment& s = segments_[i];
  if (s.read_only) {
    ::close(s.fd);
    s.fd = -1;
    s.read_only = false;
  }
  if (s.fd < 0 && !create_segment(s, i)) return false;
  s.generation = ++last_generation_;
  const segment_header h = make_header(s.generation, true);
  cursor_ = header_bytes;
  return write_at(lock, s, 0, reinterpret_cast<const char*>(&h), sizeof h);
}

bool commit_log::switch_segment(std::unique_lock<std::mutex>& lock) {
  const int next = 1 - active_;
  keeper_done_.wait(lock, [&] { return !segments_[next].retiring; });
  if (!healthy()) return false;
  if (segments_[active_].generation != 0) {
    segments_[active_].retiring = true;
    keeper_work_.notify_one();
  }
  active_ = next;
  return start_segment(lock, next);
}

void commit_log::append(std::string& records) {
  // One append at a time, also while it waits for the keeper (which releases
  // mutex_): records must lie in the file in the order of their cursors, or
  // a sync could cover records after a hole that replay stops at.
  std::lock_guard one_at_a_time(append_mutex_);
  std::unique_lock lock(mutex_);
  if (!healthy()) return;
  if (segments_[active_].generation == 0 && !start_segment(lock, active_)) return;
  const std::uint64_t capacity = segment_bytes_ - header_bytes;
  std::size_t pos = 0;
  while (pos < records.size()) {
    // Stamps the records that fit in the active segment, then writes them at once.
    std::size_t end = pos;
    while (end < records.size()) {
      record_head h;
      std::memcpy(&h, records.data() + end, sizeof h);
      const std::size_t len = sizeof h + h.body_len;
      if (cursor_ + (end - pos) + len > segment_bytes_) break;
      h.generation = segments_[active_].generation;
      h.head_crc = head_crc(h);
      std::memcpy(records.data() + end, &h, sizeof h);
      end += len;
    }
    if (end == pos) {
      record_head h;
      std::memcpy(&h, records.data() + pos, sizeof h);
      if (sizeof h + h.body_len > capacity) {
        fail(EFBIG);  // cannot happen: SQLite's pages are at most 64 KiB
        return;
      }
      if (!switch_segment(lock)) return;
      continue;
    }
    if (!write_at(lock, segments_[active_], cursor_, records.data() + pos, end - pos)) return;
    cursor_ += end - pos;
    pos = end;
  }
}

int commit_log::sync() {
  std::uint64_t want = 0;
  {
    std::lock_guard lock(mutex_);
    if (error_ != 0) return error_;
    want = written_;
    if (synced_ >= want) return 0;  // a sync that began after these writes has returned
  }
  // One sync at a time. Else a sync that found the segments clean because
  // another had just claimed them would return while that one's fdatasync,
  // which its records need, still runs.
  std::lock_guard one_at_a_time(sync_mutex_);
  int fds[2];
  int n = 0;
  std::uint64_t covers = 0;
  {
    std::lock_guard lock(mutex_);
    if (error_ != 0) return error_;
    if (synced_ >= want) return 0;  // the sync before this one covered them
    covers = written_;
    for (auto& s : segments_)
      if (s.dirty) {
        s.dirty = false;
        fds[n++] = s.fd;
      }
  }
  if (after_claim_for_tests) after_claim_for_tests();
  for (int i = 0; i < n; ++i) {
    int rc = ::fdatasync(fds[i]);
    if (rc != 0 && errno == EINTR) rc = ::fdatasync(fds[i]);
    if (rc != 0) {
      const int error = errno;
      std::lock_guard lock(mutex_);
      fail(error);
      return error;
    }
  }
  std::lock_guard lock(mutex_);
  synced_ = std::max(synced_, covers);
  return 0;
}

int commit_log::append_and_sync(std::string& records) {
  if (!records.empty()) append(records);
  records.clear();
  return sync();
}

void commit_log::discard() noexcept {
  std::lock_guard lock(mutex_);
  for (auto& s : segments_)
    if (s.generation != 0 && !s.retiring) clear_header(s);
}

// The keeper: retires full segments, and writes zeros ahead of the cursor
// of the active one (made durable), so that the records' syncs find their
// blocks in the file and need no journal commit for them.
void commit_log::keeper_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    segment* retiring = segments_[0].retiring ? &segments_[0] : segments_[1].retiring ? &segments_[1] : nullptr;
    segment& active = segments_[active_];
    const bool fill = !stop_ && healthy() && !retiring && active.generation != 0 && active.allocated < fill_target();
    if (!retiring && !fill) {
      if (stop_) return;
      keeper_work_.wait(lock);
      continue;
    }
    int error = 0;
    if (retiring) {
      lock.unlock();
      // Every write its records describe was made before the switch that
      // retired it, so a syncfs begun now covers them all.
      error = ::syncfs(dir_fd_) == 0 ? 0 : errno;
      const segment_header h = make_header(retiring->generation, false);
      if (error == 0 &&
          (!write_all(retiring->fd, reinterpret_cast<const char*>(&h), sizeof h, 0) || ::fdatasync(retiring->fd) != 0))
        error = errno;
      lock.lock();
      if (error == 0) retiring->generation = 0;  // else left live: discard() clears it after a good syncfs
      retiring->retiring = false;
    } else {
      const std::uint64_t from = active.allocated;
      const std::uint64_t to = std::min<std::uint64_t>(segment_bytes_, from + fill_chunk);
      active.filling = true;
      const int fd = active.fd;
      lock.unlock();
      for (std::uint64_t at = from; at < to && error == 0;) {
        const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(header_bytes, to - at));
        if (!write_all(fd, zeros(), k, at)) error = errno;
        at += k;
      }
      if (error == 0 && ::fdatasync(fd) != 0) error = errno;
      lock.lock();
      active.filling = false;
      if (error == 0) active.allocated = std::max(active.allocated, to);
    }
    if (error != 0) fail(error);
    keeper_done_.notify_all();
  }
}

}  // namespace cairn::detail
