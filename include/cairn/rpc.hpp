#pragma once
/// Methods an actor class offers by name, with JSON arguments and results:
/// what code that does not know the C++ type calls (actor stubs granted to
/// sandboxed code; JavaScript actors).
///
///   struct counter : cairn::actor {
///     cairn::task<std::int64_t> add(std::int64_t n);
///     std::int64_t value() const;
///     static constexpr auto rpc = cairn::rpc_methods(cairn::rpc_method<&counter::add>("add"),
///                                                    cairn::rpc_method<&counter::value>("value"));
///   };
///   boost::json::value v = co_await cairn::call_by_name(ref, "add", args);   // args: [5]
///
/// Arguments convert with boost::json::value_to and results with value_from,
/// so any type with those conversions works. A call goes through the actor's
/// mailbox like any other; a method that is not offered, or arguments that do
/// not convert, throw cairn::bad_call before the actor sees anything.
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <cairn/actor_ref.hpp>
#include <cairn/errors.hpp>
#include <cairn/task.hpp>

namespace cairn {

/// One method offered by name.
template <auto Method>
struct rpc_method {
  explicit constexpr rpc_method(std::string_view n) : name(n) {}
  std::string_view name;
};

/// The table an actor class names `rpc`.
template <class... M>
constexpr std::tuple<M...> rpc_methods(M... m) {
  return {m...};
}

template <class T>
concept rpc_actor = requires { T::rpc; };

namespace detail {

template <class E>
struct entry_method;
template <auto M>
struct entry_method<rpc_method<M>> {
  static constexpr auto value = M;
};

template <class M>
struct method_traits;
template <class C, class R, class... P>
struct method_traits<R (C::*)(P...)> {
  using result = R;
  using params = std::tuple<std::decay_t<P>...>;
};
template <class C, class R, class... P>
struct method_traits<R (C::*)(P...) const> : method_traits<R (C::*)(P...)> {};
template <class C, class R, class... P>
struct method_traits<R (C::*)(P...) noexcept> : method_traits<R (C::*)(P...)> {};
template <class C, class R, class... P>
struct method_traits<R (C::*)(P...) const noexcept> : method_traits<R (C::*)(P...)> {};

// The arguments as the method's parameter types, or bad_call naming the first that fails.
template <class Params, std::size_t... I>
Params convert_args(std::string_view method, const boost::json::array& args, std::index_sequence<I...>) {
  if (args.size() != sizeof...(I))
    throw bad_call("cairn: " + std::string(method) + " takes " + std::to_string(sizeof...(I)) + " argument(s), not " +
                   std::to_string(args.size()));
  [[maybe_unused]] auto one = [&]<std::size_t K>(std::integral_constant<std::size_t, K>) {
    try {
      return boost::json::value_to<std::tuple_element_t<K, Params>>(args[K]);
    } catch (const std::exception& e) {
      throw bad_call("cairn: argument " + std::to_string(K + 1) + " of " + std::string(method) +
                     " does not convert: " + e.what());
    }
  };
  return Params{one(std::integral_constant<std::size_t, I>{})...};
}

template <auto Method, class T>
task<boost::json::value> invoke_by_name(actor_ref<T> ref, std::string method, boost::json::array args) {
  using traits = method_traits<decltype(Method)>;
  using params = typename traits::params;
  params converted =
      convert_args<params>(method, args, std::make_index_sequence<std::tuple_size_v<params>>{});
  auto op = std::apply([&](auto&... a) { return ref.call(Method, std::move(a)...); }, converted);
  using value_type = typename unwrap_task<typename traits::result>::type;
  if constexpr (std::is_void_v<value_type>) {
    co_await op;
    co_return nullptr;
  } else {
    value_type v = co_await op;
    co_return boost::json::value_from(std::move(v));
  }
}

template <class T, std::size_t I = 0>
task<boost::json::value> dispatch_by_name(actor_ref<T> ref, std::string method, boost::json::array args) {
  constexpr auto& table = T::rpc;
  if constexpr (I == std::tuple_size_v<std::decay_t<decltype(table)>>) {
    throw bad_call("cairn: the actor offers no method '" + method + "'");
  } else {
    using entry = std::tuple_element_t<I, std::decay_t<decltype(table)>>;
    if (std::get<I>(table).name == method)
      co_return co_await invoke_by_name<entry_method<entry>::value>(ref, std::move(method), std::move(args));
    co_return co_await dispatch_by_name<T, I + 1>(ref, std::move(method), std::move(args));
  }
}

}  // namespace detail

/// The names of T's methods offered by name.
template <rpc_actor T>
std::vector<std::string> rpc_names() {
  return std::apply([](const auto&... m) { return std::vector<std::string>{std::string(m.name)...}; }, T::rpc);
}

/// Calls the method offered as `method` with JSON arguments; the JSON result
/// (null for void). Throws bad_call, or what the method threw.
template <rpc_actor T>
task<boost::json::value> call_by_name(actor_ref<T> ref, std::string method, boost::json::array args) {
  return detail::dispatch_by_name<T>(ref, std::move(method), std::move(args));
}

}  // namespace cairn
