#include "group_sync.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <cairn/testing/sync_faults.hpp>

#include "storage/logged_vfs.hpp"

namespace cairn::detail {

namespace {

// cairn::testing's hooks (sync_faults.hpp): process-wide, like the fault VFS.
std::mutex hook_mutex;
std::condition_variable hook_changed;
bool hold_syncs = false;
std::atomic<bool> fail_syncs{false};
std::atomic<unsigned long long> requests{0};
std::atomic<unsigned long long> log_syncs{0};

// While a test holds the syncs, waits (without `lock`) until it lets go,
// before anything is claimed. True if it waited.
bool held_by_test(std::unique_lock<std::mutex>& lock) {
  std::unique_lock hook(hook_mutex);
  if (!hold_syncs) return false;
  lock.unlock();
  hook_changed.wait(hook, [] { return !hold_syncs; });
  hook.unlock();
  lock.lock();
  return true;
}

}  // namespace

group_sync::group_sync(std::filesystem::path data_dir, std::uint32_t shards, std::size_t log_segment_bytes,
                       std::function<void(std::uint32_t)> wake)
    : data_dir_(std::move(data_dir)), wake_(std::move(wake)), slots_(std::make_unique<slot[]>(shards)), shards_(shards),
      log_(data_dir_, log_segment_bytes) {
  thread_ = std::thread([this] { run(); });
}

group_sync::~group_sync() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_.notify_one();
  thread_.join();
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void group_sync::bind_thread() { this_thread_records().log = &log_; }

void group_sync::unbind_thread() {
  thread_records& t = this_thread_records();
  if (t.log == &log_ && !t.bytes.empty()) log_.append(t.bytes);
  t = {};
}

void group_sync::request(std::uint32_t s, std::uint64_t epoch) {
  thread_records& t = this_thread_records();
  if (t.log == &log_ && !t.bytes.empty()) {
    log_.append(t.bytes);
    t.bytes.clear();
  }
  {
    std::lock_guard lock(mutex_);
    slots_[s].requested = epoch;
  }
  requests.fetch_add(1, std::memory_order_release);
  work_.notify_one();
}

void group_sync::take(std::uint32_t s, std::vector<outcome>& out) {
  out.clear();
  std::lock_guard lock(mutex_);
  out.swap(slots_[s].outcomes);
  slots_[s].ready.store(false, std::memory_order_seq_cst);
}

void group_sync::wait_for(std::uint32_t s, std::uint64_t epoch) {
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return slots_[s].covered >= epoch; });
}

int group_sync::sync_file_system() {
  if (dir_fd_ < 0) {
    dir_fd_ = ::open(data_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) return errno;
  }
  if (::syncfs(dir_fd_) == 0) return 0;
  if (errno == EINTR && ::syncfs(dir_fd_) == 0) return 0;
  return errno;
}

int group_sync::sync_once() {
  if (fail_syncs.load(std::memory_order_acquire)) {
    log_.abandon(EIO);  // as after a real failure: the log is not trusted again
    return EIO;
  }
  if (log_.healthy()) {
    log_syncs.fetch_add(1, std::memory_order_relaxed);
    return log_.sync();  // a failure leaves the log unhealthy
  }
  const int error = sync_file_system();
  if (error == 0) log_.discard();
  return error;
}

bool group_sync::pending() const noexcept {
  for (std::uint32_t s = 0; s < shards_; ++s)
    if (slots_[s].requested > slots_[s].covered) return true;
  return false;
}

void group_sync::sync_claimed(std::unique_lock<std::mutex>& lock, claim& c, std::uint32_t self) {
  // What was committed before this point is what the sync covers.
  for (std::uint32_t s = 0; s < shards_; ++s) c.wanted[s] = slots_[s].requested;
  syncing_ = true;
  lock.unlock();
  const int error = sync_once();
  lock.lock();
  syncing_ = false;
  for (std::uint32_t s = 0; s < shards_; ++s) {
    slot& sl = slots_[s];
    if (c.wanted[s] <= sl.covered) {
      c.wanted[s] = 0;
      continue;
    }
    sl.outcomes.push_back({c.wanted[s], error});
    sl.covered = c.wanted[s];
    sl.ready.store(true, std::memory_order_seq_cst);
  }
  lock.unlock();
  done_.notify_all();
  work_.notify_one();  // requests that came meanwhile
  for (std::uint32_t s = 0; s < shards_; ++s)
    if (c.wanted[s] != 0 && s != self) wake_(s);
  lock.lock();
}

void group_sync::run() {
  claim c;
  c.wanted.resize(shards_);
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [&] { return !syncing_ && (stop_ || pending()); });
    if (!pending()) return;  // stopping, with nothing asked
    if (held_by_test(lock)) continue;  // a shard may have synced meanwhile
    sync_claimed(lock, c, shards_);
  }
}

bool group_sync::sync_here(std::uint32_t s) {
  {
    std::lock_guard hook(hook_mutex);
    if (hold_syncs) return false;  // a test holds the syncs: never on a shard's thread
  }
  std::unique_lock lock(mutex_);
  if (syncing_ || slots_[s].requested <= slots_[s].covered) return false;
  thread_local claim c;
  c.wanted.resize(shards_);
  sync_claimed(lock, c, s);
  return true;
}

}  // namespace cairn::detail

namespace cairn::testing {

void hold_group_syncs(bool on) noexcept {
  {
    std::lock_guard lock(cairn::detail::hook_mutex);
    cairn::detail::hold_syncs = on;
  }
  cairn::detail::hook_changed.notify_all();
}

void fail_group_syncs(bool on) noexcept { cairn::detail::fail_syncs.store(on, std::memory_order_release); }

unsigned long long group_sync_requests() noexcept { return cairn::detail::requests.load(std::memory_order_acquire); }

unsigned long long group_syncs_of_the_log() noexcept { return cairn::detail::log_syncs.load(std::memory_order_relaxed); }

}  // namespace cairn::testing
