#pragma once
// The state a runtime shares with its shards and with the templates that send
// messages: the shards, the namespaces, the stop flags and the error hook.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <cairn/detail/namespace_state.hpp>
#include <cairn/detail/shard.hpp>
#include <cairn/runtime_options.hpp>

namespace cairn::detail {

class alarm_index;
class data_dir_lock;
class group_sync;

class runtime_core {
 public:
  runtime_core(runtime& owner, runtime_options options);
  ~runtime_core();

  [[nodiscard]] runtime& owner() const noexcept { return owner_; }
  [[nodiscard]] const runtime_options& options() const noexcept { return options_; }
  [[nodiscard]] std::uint32_t shard_count() const noexcept {
    return static_cast<std::uint32_t>(shards_.size());
  }
  [[nodiscard]] shard& shard_at(std::uint32_t i) const noexcept { return *shards_[i]; }
  [[nodiscard]] shard& shard_for(const actor_id& id) const noexcept { return *shards_[shard_index(id)]; }
  /// Maps the id's uniformly random low bits onto [0, shards) with a
  /// multiply and a shift instead of a division.
  [[nodiscard]] std::uint32_t shard_index(const actor_id& id) const noexcept {
    return static_cast<std::uint32_t>((static_cast<unsigned __int128>(id.low_bits()) * shards_.size()) >> 64);
  }

  namespace_state& add_namespace(std::string name, const void* type_tag);
  [[nodiscard]] const namespace_state* find_namespace(std::string_view name) const noexcept;
  [[nodiscard]] std::size_t namespace_count() const noexcept { return namespaces_.size(); }
  [[nodiscard]] const namespace_state* namespace_at(std::uint32_t i) const noexcept { return namespaces_[i].get(); }

  /// Most database files each shard keeps open (set by start()).
  [[nodiscard]] std::size_t database_budget() const noexcept { return database_budget_; }
  /// The clock alarms and idle timeouts read.
  [[nodiscard]] cairn::clock& clock() const noexcept { return *clock_; }
  /// The node's alarm index; nullptr without a data directory.
  [[nodiscard]] alarm_index* alarm_index_or_null() const noexcept { return alarm_index_.get(); }
  /// The node's group sync (made by start() when there is a data directory).
  [[nodiscard]] detail::group_sync* syncer() const noexcept { return group_sync_.get(); }

  /// Counts work offered from outside the runtime's threads; false (and the
  /// work must be refused) once a stop was requested.
  [[nodiscard]] bool try_external_root() noexcept;

  void report_unhandled(std::exception_ptr e, std::string_view context) noexcept;

  void start();
  void request_stop() noexcept;
  /// `f` runs once, on the thread that requests the stop, before the drain
  /// begins (or at once if a stop was requested already): services that keep
  /// root tasks alive (a listening socket) end them here.
  void on_stop(std::function<void()> f);
  /// Waits for stop(), drains in-flight work (up to the drain timeout), ends
  /// the shard threads. Idempotent.
  void wait_and_join();
  [[nodiscard]] bool started() const noexcept { return started_; }
  [[nodiscard]] bool stop_requested() const noexcept {
    return stop_requested_.load(std::memory_order_acquire);
  }
  [[nodiscard]] bool quiescent() const noexcept;

  /// runtime::provide and runtime::service: objects the program owns, by type.
  /// Written only before start(), so shards read them without a lock.
  void provide(const void* type_tag, void* object);
  [[nodiscard]] void* provided(const void* type_tag) const;

  /// The runtime's one instance of service `S` (default-constructible),
  /// made on first use from any thread and destroyed with the runtime, before
  /// its shards (as Asio's use_service). Layers above the runtime keep their
  /// per-runtime state here, e.g. the io layer's WebSocket registry.
  template <class S>
  S& use_service() {
    static constexpr char key = 0;  // one address per service type
    std::lock_guard lock(services_mutex_);
    for (auto& [k, s] : services_)
      if (k == &key) return *static_cast<S*>(s.get());
    auto s = std::make_shared<S>();
    services_.emplace_back(&key, s);
    return *s;
  }

 private:
  void load_alarms();

  runtime& owner_;
  runtime_options options_;
  std::vector<std::unique_ptr<namespace_state>> namespaces_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::shared_ptr<cairn::clock> clock_;
  std::uint64_t clock_subscription_ = 0;
  std::unique_ptr<data_dir_lock> data_lock_;  // from start() until joined: before what it guards
  std::unique_ptr<alarm_index> alarm_index_;
  std::unique_ptr<detail::group_sync> group_sync_;  // after shards_: its thread calls into them
  std::size_t database_budget_ = 0;
  std::atomic<std::uint64_t> external_roots_created_{0};
  std::atomic<std::uint64_t> external_roots_refused_{0};
  std::atomic<bool> stop_requested_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> stop_listeners_;
  bool started_ = false;
  bool joined_ = false;
  std::vector<std::pair<const void*, void*>> provided_;
  std::mutex services_mutex_;
  std::vector<std::pair<const void*, std::shared_ptr<void>>> services_;  // destroyed before the shards
};

}  // namespace cairn::detail
