#include "group_sync.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <cairn/testing/sync_faults.hpp>

namespace cairn::detail {

namespace {

// cairn::testing's hooks (sync_faults.hpp): process-wide, like the fault VFS.
std::mutex hook_mutex;
std::condition_variable hook_changed;
bool hold_syncs = false;
std::atomic<bool> fail_syncs{false};

}  // namespace

group_sync::group_sync(std::filesystem::path data_dir, std::uint32_t shards, std::function<void(std::uint32_t)> wake)
    : data_dir_(std::move(data_dir)), wake_(std::move(wake)), slots_(std::make_unique<slot[]>(shards)), shards_(shards) {
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

void group_sync::request(std::uint32_t s, std::uint64_t epoch) {
  {
    std::lock_guard lock(mutex_);
    slots_[s].requested = epoch;
  }
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

int group_sync::sync_once() {
  {
    std::unique_lock lock(hook_mutex);
    hook_changed.wait(lock, [] { return !hold_syncs; });
  }
  if (fail_syncs.load(std::memory_order_acquire)) return EIO;
  if (dir_fd_ < 0) {
    dir_fd_ = ::open(data_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) return errno;
  }
  if (::syncfs(dir_fd_) == 0) return 0;
  if (errno == EINTR && ::syncfs(dir_fd_) == 0) return 0;
  return errno;
}

void group_sync::run() {
  std::vector<std::uint64_t> wanted(shards_);
  std::unique_lock lock(mutex_);
  for (;;) {
    auto pending = [&] {
      for (std::uint32_t s = 0; s < shards_; ++s)
        if (slots_[s].requested > slots_[s].covered) return true;
      return false;
    };
    work_.wait(lock, [&] { return stop_ || pending(); });
    if (!pending()) return;  // stopping, with nothing asked
    // What was committed before this point is what the sync covers.
    for (std::uint32_t s = 0; s < shards_; ++s) wanted[s] = slots_[s].requested;
    lock.unlock();
    const int error = sync_once();
    lock.lock();
    for (std::uint32_t s = 0; s < shards_; ++s) {
      slot& sl = slots_[s];
      if (wanted[s] <= sl.covered) {
        wanted[s] = 0;
        continue;
      }
      sl.outcomes.push_back({wanted[s], error});
      sl.covered = wanted[s];
      sl.ready.store(true, std::memory_order_seq_cst);
    }
    lock.unlock();
    done_.notify_all();
    for (std::uint32_t s = 0; s < shards_; ++s)
      if (wanted[s] != 0) wake_(s);
    lock.lock();
  }
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

}  // namespace cairn::testing
