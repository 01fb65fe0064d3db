#pragma once
// The node's index of scheduled alarms: which actor (namespace, id value)
// wants to wake at what time, so that a hibernated actor's alarm fires and
// alarms survive a restart. The actor's own database holds the truth; an
// entry here without an alarm there only wakes the actor for nothing.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <cairn/durability.hpp>

namespace cairn::detail {

class alarm_index {
 public:
  struct entry {
    std::string ns;
    std::string value_hex;  // 32 hex chars
    std::int64_t at_ms;
  };

  /// The index in `<data_dir>/.cairn-alarms.sqlite`, created when the first
  /// alarm is set.
  alarm_index(const std::filesystem::path& data_dir, durability mode);
  ~alarm_index();
  alarm_index(const alarm_index&) = delete;
  alarm_index& operator=(const alarm_index&) = delete;

  [[nodiscard]] std::vector<entry> load();
  /// Both throw storage_error on failure. Any shard may call them.
  void upsert(const std::vector<entry>& entries);
  void remove(const std::vector<entry>& entries);

 private:
  void run(const std::vector<entry>& entries, const char* sql, bool with_time);
  void open();  // with mutex_ held

  std::filesystem::path data_dir_;
  durability mode_;
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
};

}  // namespace cairn::detail
