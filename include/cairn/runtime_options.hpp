#pragma once
/// Settings of a cairn::runtime.
#include <chrono>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <cairn/clock.hpp>
#include <cairn/durability.hpp>

namespace cairn {

struct runtime_options {
  /// Shards (threads). 0: one per core.
  unsigned shards = 0;
  /// Secret that keys every namespace's ids. The empty default uses a fixed
  /// development key: ids are then predictable, so set it in production.
  std::string secret;
  /// How long an idle shard polls for work before it sleeps in the kernel.
  /// Short bursts of cross-shard messages then avoid a wake-up each.
  std::chrono::microseconds idle_spin{50};
  /// How long stop() lets in-flight turns finish before it abandons them.
  std::chrono::milliseconds drain_timeout{10'000};
  /// Called (on the shard's thread) for an exception nobody can receive: an
  /// escaped error of a spawned task or of a one-way send's handler. The
  /// default prints it to stderr.
  std::function<void(std::exception_ptr, std::string_view context)> on_unhandled_error;

  // ---- durable actors ----
  /// Where actor databases and the alarm index live. Needed unless every
  /// namespace that uses storage has durability::memory.
  std::filesystem::path data_dir;
  /// Default for every namespace; register_namespace() may override it.
  cairn::durability durability = cairn::durability::full;
  /// An actor with no event for this long, and nothing pending, hibernates.
  std::chrono::milliseconds idle_timeout{10'000};
  /// Most resident actors per shard (0: no cap); beyond it the least recently
  /// used idle actors hibernate.
  std::size_t max_resident_actors = 0;
  /// Most database files open per shard (each holds 3 file descriptors: the
  /// database, its WAL and its lock); beyond it the databases of the least
  /// recently used idle actors close (and reopen on their next use). 0:
  /// derived from the file descriptor limit, which start() raises to its hard
  /// limit: a sixth of it over all shards, so half the descriptors stay free
  /// for sockets and the rest.
  std::size_t max_open_databases = 0;
  /// Size of each of the two segment files of the commit log, which makes
  /// `full` commits durable (docs/architecture.md); a full segment is
  /// retired after a syncfs. At least 1 MiB.
  std::size_t commit_log_segment_bytes = std::size_t{64} << 20;
  /// Wall time for alarms and idle timeouts (nullptr: the system clock).
  std::shared_ptr<cairn::clock> clock;
  /// SQLite VFS to open databases with (empty: cairn's own, SQLite's
  /// unix-none with a lock per database file). Tests use it to inject disk
  /// faults (cairn/testing/fault_vfs.hpp).
  std::string sqlite_vfs;
};

/// Settings of one namespace.
struct namespace_options {
  /// Overrides runtime_options::durability for this namespace.
  std::optional<cairn::durability> durability;
};

}  // namespace cairn
