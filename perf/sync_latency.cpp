// What one durable write costs on a file system, by method: the price of the
// commit log's group sync (src/storage/commit_log.*), which today appends
// with a buffered write and makes it durable with fdatasync.
//
//   perf/sync_latency [--dir PATH] [--seconds S] [--bytes N]
//
// Each method writes N bytes (8 KiB by default: a few commits' records) at
// the next offset of a 64 MiB file already filled with zeros (as the log's
// keeper prepares its segments, so that no write allocates), and waits until
// they are durable; it runs S seconds (2) and reports durable writes per
// second and their latency. The rows:
//   buffered + fdatasync       what the commit log does
//   O_DIRECT + fdatasync       no page cache, still a separate flush
//   O_DIRECT | O_DSYNC         one write, durable when it returns
//   buffered + RWF_DSYNC       pwritev2 with the per-write flag
//   buffered + fdatasync xT    T threads at once on the one file: do the
//                              device's flushes overlap?
// --dir is where the scratch file goes (default: the current folder; use the
// data directory's file system). O_DIRECT rows say so if it is refused
// (tmpfs).
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t file_bytes = std::size_t{64} << 20;
constexpr std::size_t align = 4096;

enum class method { buffered_fdatasync, direct_fdatasync, direct_dsync, buffered_rwf_dsync };

struct aligned_free {
  void operator()(void* p) const noexcept { std::free(p); }
};
using buffer = std::unique_ptr<char, aligned_free>;

buffer aligned_buffer(std::size_t n, int fill) {
  void* p = nullptr;
  if (::posix_memalign(&p, align, n) != 0) throw std::bad_alloc();
  std::memset(p, fill, n);
  return buffer(static_cast<char*>(p));
}

bool write_all(int fd, const char* p, std::size_t n, off_t at) {
  while (n > 0) {
    const ssize_t k = ::pwrite(fd, p, n, at);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
    at += k;
  }
  return true;
}

// The scratch file, filled with zeros and durable, as a log segment starts.
void prepare(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  const buffer zeros = aligned_buffer(std::size_t{1} << 20, 0);
  for (std::size_t at = 0; at < file_bytes; at += std::size_t{1} << 20)
    if (!write_all(fd, zeros.get(), std::size_t{1} << 20, static_cast<off_t>(at)))
      throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
  if (::fsync(fd) != 0) throw std::runtime_error("cannot sync " + path.string() + ": " + std::strerror(errno));
  ::close(fd);
}

struct result {
  std::size_t writes = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
  std::string refused;  // why the method could not run, if it could not
};

result run(const std::filesystem::path& path, method m, unsigned threads, double seconds, std::size_t bytes) {
  const bool direct = m == method::direct_fdatasync || m == method::direct_dsync;
  int flags = O_RDWR | O_CLOEXEC;
  if (direct) flags |= O_DIRECT;
  if (m == method::direct_dsync) flags |= O_DSYNC;
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return {0, 0, {}, std::strerror(errno)};
  std::atomic<std::size_t> next{0};
  std::mutex merge;
  result out;
  std::atomic<bool> failed{false};
  const auto t0 = clock_type::now();
  const auto until = t0 + std::chrono::duration<double>(seconds);
  auto work = [&] {
    const buffer data = aligned_buffer(bytes, 'c');
    std::vector<double> mine;
    while (!failed && clock_type::now() < until) {
      const off_t at = static_cast<off_t>(next.fetch_add(bytes) % (file_bytes - bytes) / align * align);
      const auto t = clock_type::now();
      bool ok = false;
      if (m == method::buffered_rwf_dsync) {
        iovec io{data.get(), bytes};
        ok = ::pwritev2(fd, &io, 1, at, RWF_DSYNC) == static_cast<ssize_t>(bytes);
      } else {
        ok = write_all(fd, data.get(), bytes, at) && (m == method::direct_dsync || ::fdatasync(fd) == 0);
      }
      if (!ok) {
        failed = true;
        std::lock_guard lock(merge);
        out.refused = std::strerror(errno);
        break;
      }
      mine.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t).count());
    }
    std::lock_guard lock(merge);
    out.latencies_us.insert(out.latencies_us.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  out.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  out.writes = out.latencies_us.size();
  ::close(fd);
  return out;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = ".";
  double seconds = 2;
  std::size_t bytes = 8192;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sync_latency: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") dir = next();
    else if (a == "--seconds") seconds = std::atof(next().c_str());
    else if (a == "--bytes") bytes = static_cast<std::size_t>(std::atoll(next().c_str()));
    else {
      std::fprintf(stderr, "usage: %s [--dir PATH] [--seconds S] [--bytes N]\n", argv[0]);
      return 2;
    }
  }
  if (seconds <= 0 || bytes == 0 || bytes % align != 0 || bytes > file_bytes / 2) {
    std::fprintf(stderr, "sync_latency: --seconds must be positive and --bytes a multiple of %zu up to %zu\n", align,
                 file_bytes / 2);
    return 2;
  }
  const std::filesystem::path path = dir / ".cairn-sync-latency";
  try {
    prepare(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sync_latency: %s\n", e.what());
    return 1;
  }
  struct row {
    const char* name;
    method m;
    unsigned threads;
  };
  const row rows[] = {{"buffered + fdatasync", method::buffered_fdatasync, 1},
                      {"O_DIRECT + fdatasync", method::direct_fdatasync, 1},
                      {"O_DIRECT | O_DSYNC", method::direct_dsync, 1},
                      {"buffered + RWF_DSYNC", method::buffered_rwf_dsync, 1},
                      {"buffered + fdatasync x2", method::buffered_fdatasync, 2},
                      {"buffered + fdatasync x4", method::buffered_fdatasync, 4}};
  std::printf("%zu bytes per durable write, %s, %.1f s each\n", bytes, dir.c_str(), seconds);
  std::printf("%-26s %14s %10s %10s %10s\n", "method", "writes/s", "mean us", "p50 us", "p99 us");
  for (const row& r : rows) {
    result res = run(path, r.m, r.threads, seconds, bytes);
    if (!res.refused.empty() && res.writes == 0) {
      std::printf("%-26s refused: %s\n", r.name, res.refused.c_str());
      continue;
    }
    double sum = 0;
    for (double l : res.latencies_us) sum += l;
    const double mean = res.writes ? sum / static_cast<double>(res.writes) : 0;
    std::printf("%-26s %14.0f %10.0f %10.0f %10.0f\n", r.name, static_cast<double>(res.writes) / res.seconds, mean,
                percentile(res.latencies_us, 0.5), percentile(res.latencies_us, 0.99));
  }
  std::filesystem::remove(path);
  return 0;
}
