#pragma once
/// `cairn::runtime`: the shards, the namespaces and the life cycle.
///
///   cairn::runtime rt;                                      // one shard per core
///   auto counters = rt.register_namespace<counter>("counter");
///   rt.run([&]() -> cairn::task<> {                         // stops when main ends
///     co_await counters.get("a").call(&counter::add, 1);
///   });
#include <future>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <cairn/actor.hpp>
#include <cairn/actor_namespace.hpp>
#include <cairn/detail/namespace_state.hpp>
#include <cairn/detail/runtime_core.hpp>
#include <cairn/runtime_options.hpp>
#include <cairn/task.hpp>

namespace cairn {

namespace detail {
struct activation_context {
  static inline thread_local const actor_id* current = nullptr;
};

template <class T>
concept has_on_start = requires(T& a) {
  { a.on_start() } -> std::same_as<task<void>>;
};

/// Starts `t` as a root task on the calling shard (see spawn.hpp).
void spawn_root(task<void> t);
}  // namespace detail

class runtime {
 public:
  explicit runtime(runtime_options options = {});
  /// Stops (gracefully) and joins the shards.
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Registers actor class T under `name`. Only before start().
  template <class T>
  actor_namespace<T> register_namespace(std::string name, namespace_options options = {}) {
    static_assert(std::is_base_of_v<actor, T>, "an actor class derives from cairn::actor");
    static_assert(std::is_default_constructible_v<T>, "an actor class needs a default constructor");
    auto& ns = core_->add_namespace(std::move(name), detail::type_tag<T>());
    ns.durability = options.durability.value_or(core_->options().durability);
    ns.create = []() -> actor* { return new T(); };
    if constexpr (detail::has_on_start<T>) {
      ns.start = [](actor& a) { return static_cast<T&>(a).on_start(); };
    }
    return actor_namespace<T>(&ns);
  }

  /// The namespace registered under `name` for class T; throws std::invalid_argument
  /// if there is none or it holds another class.
  template <class T>
  [[nodiscard]] actor_namespace<T> get_namespace(std::string_view name) const {
    const auto* ns = core_->find_namespace(name);
    if (!ns || ns->type_tag != detail::type_tag<T>()) throw_no_namespace(name);
    return actor_namespace<T>(ns);
  }

  /// Makes `object` (a sandbox pool, a client: anything the program owns)
  /// reachable from every actor as `runtime().service<T>()`. One object per
  /// type; only before start(); it must outlive the runtime's run.
  template <class T>
  void provide(T& object) {
    core_->provide(detail::type_tag<T>(), &object);
  }
  /// The object provided for T; throws std::logic_error if there is none.
  template <class T>
  [[nodiscard]] T& service() const {
    return *static_cast<T*>(core_->provided(detail::type_tag<T>()));
  }

  [[nodiscard]] unsigned shard_count() const noexcept { return core_->shard_count(); }
  /// The shard the actor with this id lives on.
  [[nodiscard]] unsigned shard_of(const actor_id& id) const noexcept { return core_->shard_index(id); }

  /// Starts the shard threads. Idempotent.
  void start();
  /// Starts if needed and blocks until stop() has been called and in-flight
  /// work has drained.
  void run();
  /// Runs `main()` (returning task<R>) on shard 0, stops the runtime when it
  /// finishes, and returns its result or rethrows its exception.
  template <class F>
  auto run(F&& main) -> typename std::invoke_result_t<F&>::value_type;
  /// Graceful stop from any thread (a shard too): no new work is taken from
  /// outside; turns in flight finish; then the shards end. Does not block.
  void stop() noexcept;
  /// Makes SIGINT and SIGTERM call stop().
  void stop_on_signals();

  /// Runs `t` as a detached task on shard `shard_index`; its escaped exception
  /// goes to the unhandled-error hook. Throws runtime_stopped once stopping.
  void spawn(task<void> t, unsigned shard_index = 0);
  /// Runs `t` on shard `shard_index` (starting the runtime if needed) and
  /// waits for its result on this thread. Never call it from a shard: that
  /// would deadlock it.
  template <class T>
  T block_on(task<T> t, unsigned shard_index = 0);

  [[nodiscard]] detail::runtime_core& core() noexcept { return *core_; }

 private:
  [[noreturn]] static void throw_no_namespace(std::string_view name);
  /// Blocking on a shard of this runtime would deadlock it: throw instead.
  void refuse_on_own_shard(const char* what) const;
  void post_root(task<void> t, unsigned shard_index);

  std::unique_ptr<detail::runtime_core> core_;
  struct signal_handling;
  std::unique_ptr<signal_handling> signals_;
};

template <class T>
T runtime::block_on(task<T> t, unsigned shard_index) {
  refuse_on_own_shard("block_on");
  std::promise<T> done;
  auto fut = done.get_future();
  start();
  post_root(
      [](task<T> t, std::promise<T>& done) -> task<void> {
        try {
          if constexpr (std::is_void_v<T>) {
            co_await std::move(t);
            done.set_value();
          } else {
            done.set_value(co_await std::move(t));
          }
        } catch (...) {
          done.set_exception(std::current_exception());
        }
      }(std::move(t), done),
      shard_index);
  return fut.get();
}

template <class F>
auto runtime::run(F&& main) -> typename std::invoke_result_t<F&>::value_type {
  using T = typename std::invoke_result_t<F&>::value_type;
  detail::result_slot<T> result;
  post_root(
      [](F& main, detail::result_slot<T>& result, runtime& rt) -> task<void> {
        try {
          if constexpr (std::is_void_v<T>) {
            co_await main();
            result.set_value();
          } else {
            result.set_value(co_await main());
          }
        } catch (...) {
          result.set_exception(std::current_exception());
        }
        rt.stop();
      }(main, result, *this),
      0);
  run();
  return result.take();
}

}  // namespace cairn
