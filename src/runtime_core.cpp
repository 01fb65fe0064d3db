#include <cairn/detail/runtime_core.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include <cairn/errors.hpp>

#include "alarm_index.hpp"
#include "group_sync.hpp"
#include "hex.hpp"
#include "storage/data_dir_lock.hpp"

namespace cairn::detail {

std::array<std::uint8_t, 32> derive_namespace_key(std::string_view secret, std::string_view ns_name);
void post_tick(shard& s);

namespace {
constexpr std::string_view development_secret = "cairn development secret: set runtime_options::secret";

// Raises the soft limit on file descriptors to the hard one (the default soft
// limit, often 1024, is a relic of select()), then gives databases a sixth
// of it: each holds three descriptors, so half stay for everything else.
std::size_t derive_database_budget(std::uint32_t shards) noexcept {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 64;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  const rlim_t usable = lim.rlim_cur == RLIM_INFINITY ? rlim_t{1} << 20 : lim.rlim_cur;
  return std::max<std::size_t>(16, static_cast<std::size_t>(usable / 6 / std::max<std::uint32_t>(1, shards)));
}

}  // namespace

runtime_core::runtime_core(runtime& owner, runtime_options options) : owner_(owner), options_(std::move(options)) {
  unsigned n = options_.shards ? options_.shards : std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  shards_.reserve(n);
  for (unsigned i = 0; i < n; ++i) shards_.push_back(std::make_unique<shard>(*this, i));
  clock_ = options_.clock ? options_.clock : std::make_shared<cairn::system_clock>();
  if (clock_->is_manual()) {
    // Every advance of a manual clock makes each shard look at its alarms
    // and idle actors, so tests move time without sleeping.
    clock_subscription_ = clock_->subscribe([this] {
      std::lock_guard lock(mutex_);
      if (started_ && !joined_)
        for (auto& s : shards_) post_tick(*s);
    });
  }
}

runtime_core::~runtime_core() {
  if (clock_subscription_) clock_->unsubscribe(clock_subscription_);
}

void runtime_core::provide(const void* type_tag, void* object) {
  if (started_) throw std::logic_error("cairn: provide objects to actors before the runtime starts");
  for (auto& [k, p] : provided_)
    if (k == type_tag) throw std::logic_error("cairn: an object of this type was provided already");
  provided_.emplace_back(type_tag, object);
}

void* runtime_core::provided(const void* type_tag) const {
  for (auto& [k, p] : provided_)
    if (k == type_tag) return p;
  throw std::logic_error("cairn: runtime::service<T>(): no object of that type was provided (runtime::provide)");
}

void runtime_core::load_alarms() {
  if (options_.data_dir.empty()) return;
  alarm_index_ = std::make_unique<alarm_index>(options_.data_dir, options_.durability == durability::memory
                                                                      ? durability::normal
                                                                      : options_.durability);
  for (auto& e : alarm_index_->load()) {
    const namespace_state* ns = find_namespace(e.ns);
    actor_id::value_type v{};
    if (!ns || !parse_hex(e.value_hex, v.data(), v.size())) continue;  // a namespace this program does not register
    actor_id id(ns, v);
    shard_for(id).schedule_alarm(id, e.at_ms);
  }
}

namespace_state& runtime_core::add_namespace(std::string name, const void* type_tag) {
  if (started_) throw std::logic_error("cairn: register namespaces before the runtime starts");
  if (name.empty()) throw std::invalid_argument("cairn: a namespace needs a name");
  if (find_namespace(name)) throw std::invalid_argument("cairn: namespace '" + name + "' is already registered");
  auto ns = std::make_unique<namespace_state>();
  ns->name = std::move(name);
  ns->index = static_cast<std::uint32_t>(namespaces_.size());
  ns->core = this;
  ns->type_tag = type_tag;
  ns->key = derive_namespace_key(options_.secret.empty() ? development_secret : std::string_view(options_.secret),
                                 ns->name);
  namespaces_.push_back(std::move(ns));
  return *namespaces_.back();
}

const namespace_state* runtime_core::find_namespace(std::string_view name) const noexcept {
  for (auto& ns : namespaces_)
    if (ns->name == name) return ns.get();
  return nullptr;
}

void runtime_core::report_unhandled(std::exception_ptr e, std::string_view context) noexcept {
  try {
    if (options_.on_unhandled_error) {
      options_.on_unhandled_error(e, context);
      return;
    }
    std::fprintf(stderr, "cairn: unhandled error in %.*s: %s\n", static_cast<int>(context.size()), context.data(),
                 describe(e).c_str());
  } catch (...) {
    std::fprintf(stderr, "cairn: the unhandled-error hook threw\n");
  }
}

bool runtime_core::try_external_root() noexcept {
  // Count first, then check: a stop that begins after this sees the count.
  external_roots_created_.fetch_add(1, std::memory_order_seq_cst);
  if (!stop_requested_.load(std::memory_order_seq_cst)) return true;
  external_roots_refused_.fetch_add(1, std::memory_order_seq_cst);
  return false;
}

void runtime_core::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  if (joined_) throw runtime_stopped();
  // First the directory is ours, then the commit log's replay brings its
  // files up to date.
  if (!options_.data_dir.empty()) {
    data_lock_ = std::make_unique<data_dir_lock>(options_.data_dir);
    group_sync_ = std::make_unique<detail::group_sync>(options_.data_dir, shard_count(), options_.commit_log_segment_bytes,
                                                       [this](std::uint32_t s) { shards_[s]->notify(); });
  }
  load_alarms();
  database_budget_ = options_.max_open_databases != 0 ? options_.max_open_databases : derive_database_budget(shard_count());
  started_ = true;
  for (auto& s : shards_) s->start_thread();
}

void runtime_core::request_stop() noexcept {
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard lock(mutex_);
    stop_requested_.store(true, std::memory_order_seq_cst);
    listeners.swap(stop_listeners_);
  }
  for (auto& f : listeners) {
    try {
      f();
    } catch (...) {
      report_unhandled(std::current_exception(), "a stop listener");
    }
  }
  cv_.notify_all();
}

void runtime_core::on_stop(std::function<void()> f) {
  {
    std::lock_guard lock(mutex_);
    if (!stop_requested_.load(std::memory_order_seq_cst)) {
      stop_listeners_.push_back(std::move(f));
      return;
    }
  }
  f();
}

bool runtime_core::quiescent() const noexcept {
  // Every root is counted as created before it can be counted as finished,
  // so reading the finished counters first never overcounts them.
  std::uint64_t finished = external_roots_refused_.load(std::memory_order_seq_cst);
  for (auto& s : shards_) finished += s->roots_finished();
  std::uint64_t created = external_roots_created_.load(std::memory_order_seq_cst);
  for (auto& s : shards_) created += s->roots_created();
  return finished == created;
}

void runtime_core::wait_and_join() {
  {
    std::unique_lock lock(mutex_);
    if (!started_ || joined_) return;
    cv_.wait(lock, [&] { return stop_requested_.load(std::memory_order_seq_cst); });
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  while (!quiescent() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  for (auto& s : shards_) s->request_exit();
  for (auto& s : shards_) s->join();
  group_sync_.reset();  // the shards waited for the syncs of what they committed
  data_lock_.reset();   // nothing of this runtime writes any more: another may start
  std::lock_guard lock(mutex_);
  joined_ = true;
}

}  // namespace cairn::detail
