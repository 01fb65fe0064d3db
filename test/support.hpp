#pragma once
// Helpers shared by the test suites.
#include <cairn/runtime_options.hpp>
#include <cairn/testing/fault_vfs.hpp>

namespace cairn_test {

/// Options for a runtime with `n` shards.
inline cairn::runtime_options shards(unsigned n) {
  cairn::runtime_options o;
  o.shards = n;
  return o;
}

}  // namespace cairn_test

#include <filesystem>
#include <random>
#include <string>

namespace cairn_test {

/// A fresh folder under the system's temp folder, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("cairn-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// A runtime on `n` shards storing under `dir` through the fault-injecting
/// VFS (cairn/testing/fault_vfs.hpp), quiet about the failures a test causes.
inline cairn::runtime_options with_disk_faults(const temp_dir& dir, unsigned n) {
  auto o = shards(n);
  o.data_dir = dir.path();
  o.sqlite_vfs = cairn::testing::install_fault_vfs();
  o.on_unhandled_error = [](std::exception_ptr, std::string_view) {};
  return o;
}

}  // namespace cairn_test
