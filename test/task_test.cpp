#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#include <cairn/cairn.hpp>

#include "support.hpp"

// Counts global allocations made by the calling thread, to check that task
// frames come from the recycling allocator.
namespace {
thread_local std::size_t global_allocations = 0;
}
void* operator new(std::size_t n) {
  ++global_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

cairn::runtime_options one_shard() { return cairn_test::shards(1); }

cairn::task<int> forty_two() { co_return 42; }
cairn::task<void> nothing() { co_return; }
cairn::task<int> add_nested(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await add_nested(depth - 1);
}
cairn::task<int> fails() {
  throw std::out_of_range("deliberate");
  co_return 0;
}
cairn::task<std::string> text() { co_return std::string(1000, 'x'); }

}  // namespace

BOOST_AUTO_TEST_SUITE(task)

BOOST_AUTO_TEST_CASE(value_void_and_nesting) {
  cairn::runtime rt(one_shard());
  BOOST_TEST(rt.block_on(forty_two()) == 42);
  rt.block_on(nothing());
  BOOST_TEST(rt.block_on(add_nested(1000)) == 1000);
  BOOST_TEST(rt.block_on(text()).size() == 1000u);
}

BOOST_AUTO_TEST_CASE(exceptions_propagate_to_the_awaiter) {
  cairn::runtime rt(one_shard());
  BOOST_CHECK_THROW(rt.block_on(fails()), std::out_of_range);
  auto caught = rt.block_on([]() -> cairn::task<std::string> {
    try {
      co_await fails();
    } catch (const std::out_of_range& e) {
      co_return e.what();
    }
    co_return "not thrown";
  }());
  BOOST_TEST(caught == "deliberate");
}

BOOST_AUTO_TEST_CASE(symmetric_transfer_does_not_grow_the_stack) {
  // A million awaits of tasks that complete at once would overflow the stack
  // if each resumption nested a call. (ASan keeps GCC from making symmetric
  // transfer a tail call, so sanitizer builds check correctness only.)
#if defined(__SANITIZE_ADDRESS__)
  constexpr long rounds = 10'000;
#else
  constexpr long rounds = 1'000'000;
#endif
  cairn::runtime rt(one_shard());
  long sum = rt.block_on([]() -> cairn::task<long> {
    long s = 0;
    for (long i = 0; i < rounds; ++i) s += co_await forty_two();
    co_return s;
  }());
  BOOST_TEST(sum == 42 * rounds);
}

BOOST_AUTO_TEST_CASE(lazy_until_awaited) {
  cairn::runtime rt(one_shard());
  int started = 0;
  rt.block_on([&]() -> cairn::task<void> {
    auto body = [&]() -> cairn::task<void> {  // kept alive: the frame refers to it
      ++started;
      co_return;
    };
    auto t = body();
    BOOST_TEST(started == 0);
    co_await t;
    BOOST_TEST(started == 1);
  }());
}

#if !defined(__SANITIZE_ADDRESS__)
BOOST_AUTO_TEST_CASE(frames_do_not_hit_the_global_allocator) {
  cairn::runtime rt(one_shard());
  auto counted = rt.block_on([]() -> cairn::task<std::size_t> {
    for (int i = 0; i < 100; ++i) co_await add_nested(8);  // warm the free lists
    std::size_t before = global_allocations;
    for (int i = 0; i < 10'000; ++i) co_await add_nested(8);
    co_return global_allocations - before;
  }());
  BOOST_TEST(counted == 0u);
}
#endif

BOOST_AUTO_TEST_CASE(when_all_tuple_and_vector) {
  cairn::runtime rt(one_shard());
  auto [a, b, c] = rt.block_on(cairn::when_all(forty_two(), nothing(), text()));
  BOOST_TEST(a == 42);
  (void)b;
  BOOST_TEST(c.size() == 1000u);

  std::vector<cairn::task<int>> many;
  for (int i = 0; i < 100; ++i) many.push_back(add_nested(i));
  auto results = rt.block_on(cairn::when_all(std::move(many)));
  BOOST_TEST_REQUIRE(results.size() == 100u);
  for (int i = 0; i < 100; ++i) BOOST_TEST(results[i] == i);
}

BOOST_AUTO_TEST_CASE(when_all_waits_for_all_then_rethrows_the_first_failure) {
  cairn::runtime rt(one_shard());
  std::atomic<int> finished{0};
  auto slow = [&]() -> cairn::task<int> {
    co_await cairn::sleep_for(std::chrono::milliseconds(20));
    ++finished;
    co_return 1;
  };
  BOOST_CHECK_THROW(rt.block_on(cairn::when_all(slow(), fails(), slow())), std::out_of_range);
  BOOST_TEST(finished.load() == 2);
}

BOOST_AUTO_TEST_CASE(sleep_for_uses_the_shard_timer) {
  cairn::runtime rt(one_shard());
  auto start = std::chrono::steady_clock::now();
  rt.block_on([]() -> cairn::task<void> { co_await cairn::sleep_for(std::chrono::milliseconds(30)); }());
  BOOST_TEST((std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30)));
}

BOOST_AUTO_TEST_CASE(asio_operations_are_awaitable) {
  cairn::runtime rt(one_shard());
  rt.block_on([]() -> cairn::task<void> {
    auto& io = cairn::detail::shard::current()->io();
    boost::asio::steady_timer t(io, std::chrono::milliseconds(5));
    co_await t.async_wait(cairn::use_task);  // void(error_code) -> void

    boost::asio::steady_timer never(io, std::chrono::hours(1));
    boost::asio::steady_timer canceller(io, std::chrono::milliseconds(1));
    canceller.async_wait([&](auto) { never.cancel(); });
    try {
      co_await never.async_wait(cairn::use_task);
      BOOST_FAIL("a cancelled wait must throw");
    } catch (const boost::system::system_error& e) {
      BOOST_TEST((e.code() == boost::asio::error::operation_aborted));
    }
  }());
}

BOOST_AUTO_TEST_CASE(spawn_reports_escaped_errors) {
  std::atomic<int> reported{0};
  std::string what;
  cairn::runtime_options o = one_shard();
  o.on_unhandled_error = [&](std::exception_ptr e, std::string_view) {
    what = cairn::describe(e);
    ++reported;
  };
  cairn::runtime rt(o);
  rt.run([]() -> cairn::task<> {
    cairn::spawn([]() -> cairn::task<void> {
      co_await cairn::sleep_for(std::chrono::milliseconds(5));
      throw std::runtime_error("escaped");
    }());
    co_return;
  });
  // run() drains spawned work before it returns.
  BOOST_TEST(reported.load() == 1);
  BOOST_TEST(what == "escaped");
  BOOST_CHECK_THROW(cairn::spawn(nothing()), cairn::not_on_shard);
}

BOOST_AUTO_TEST_SUITE_END()
