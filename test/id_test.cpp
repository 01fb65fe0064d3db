#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <thread>

#include <cairn/cairn.hpp>

namespace {
class thing : public cairn::actor {
 public:
  std::thread::id where() const { return std::this_thread::get_id(); }
};
class other : public cairn::actor {};

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const cairn::invalid_id& e) {
    return e.what();
  }
  return "no invalid_id thrown";
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ids)

BOOST_AUTO_TEST_CASE(names_give_deterministic_distinct_ids) {
  cairn::runtime rt;
  auto things = rt.register_namespace<thing>("thing");
  auto others = rt.register_namespace<other>("other");
  BOOST_TEST(things.id_from_name("a").to_string() == things.id_from_name("a").to_string());
  BOOST_TEST(things.id_from_name("a").to_string() != things.id_from_name("b").to_string());
  BOOST_TEST(things.id_from_name("a").to_string() != others.id_from_name("a").to_string());
  BOOST_TEST((things.id_from_name("a") == things.id_from_name("a")));

  // Another runtime with the same (default) secret agrees; another secret does not.
  cairn::runtime same;
  BOOST_TEST(same.register_namespace<thing>("thing").id_from_name("a").to_string() ==
             things.id_from_name("a").to_string());
  cairn::runtime_options o;
  o.secret = "another secret";
  cairn::runtime keyed(o);
  BOOST_TEST(keyed.register_namespace<thing>("thing").id_from_name("a").to_string() !=
             things.id_from_name("a").to_string());
}

// Ids name database files: the derivation must never change. (Pinned from the
// first implementation, OpenSSL's one-shot HMAC; checked again when it became
// a keyed context that is reused.)
BOOST_AUTO_TEST_CASE(name_ids_are_stable_across_versions) {
  cairn::runtime rt;
  auto things = rt.register_namespace<thing>("thing");
  BOOST_TEST(things.id_from_name("a").to_string() ==
             "3cea6639266f42da33239e64fb4122389ad8658c93bbc336a34a441bd8454a30");
  // The same from another thread (each thread keeps its own keyed context).
  std::string there;
  std::thread([&] { there = things.id_from_name("a").to_string(); }).join();
  BOOST_TEST(there == things.id_from_name("a").to_string());
}

BOOST_AUTO_TEST_CASE(unique_ids_are_distinct_and_round_trip) {
  cairn::runtime rt;
  auto things = rt.register_namespace<thing>("thing");
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    auto id = things.new_unique_id();
    auto text = id.to_string();
    BOOST_TEST_REQUIRE(text.size() == 64u);
    BOOST_TEST_REQUIRE(is_lower_hex(text));
    BOOST_TEST_REQUIRE((things.id_from_string(text) == id));
    seen.insert(text);
  }
  BOOST_TEST(seen.size() == 10'000u);
  auto named = things.id_from_name("x").to_string();
  std::string upper;
  for (char c : named) upper.push_back(static_cast<char>(std::toupper(c)));
  BOOST_TEST((things.id_from_string(upper) == things.id_from_name("x")));
}

BOOST_AUTO_TEST_CASE(bad_strings_are_rejected_clearly) {
  cairn::runtime rt;
  auto things = rt.register_namespace<thing>("thing");
  auto others = rt.register_namespace<other>("other");
  auto good = things.id_from_name("x").to_string();

  BOOST_TEST(error_of([&] { (void)things.id_from_string(""); }).find("expected 64 hex characters, got 0") !=
             std::string::npos);
  BOOST_TEST(error_of([&] { (void)things.id_from_string(good + "0"); }).find("got 65") != std::string::npos);
  std::string bad_char = good;
  bad_char[10] = 'g';
  BOOST_TEST(error_of([&] { (void)things.id_from_string(bad_char); }).find("character 10") != std::string::npos);
  BOOST_TEST(error_of([&] { (void)others.id_from_string(good); }).find("not an id of namespace 'other'") !=
             std::string::npos);
  std::string tampered = good;
  tampered[0] = tampered[0] == '0' ? '1' : '0';
  BOOST_CHECK_THROW((void)things.id_from_string(tampered), cairn::invalid_id);
  std::string binary(64, '\0');
  BOOST_CHECK_THROW((void)things.id_from_string(binary), cairn::invalid_id);
  BOOST_CHECK_THROW((void)others.get(things.id_from_name("x")), cairn::invalid_id);
}

BOOST_AUTO_TEST_CASE(an_id_always_lives_on_one_shard) {
  cairn::runtime_options o;
  o.shards = 2;
  cairn::runtime rt(o);
  auto things = rt.register_namespace<thing>("thing");
  auto ids = std::vector<cairn::actor_id>();
  for (int i = 0; i < 20; ++i) ids.push_back(things.new_unique_id());
  std::set<std::thread::id> threads;
  std::vector<std::thread::id> home(ids.size());
  for (unsigned from = 0; from < 2; ++from) {
    rt.block_on(
        [&]() -> cairn::task<void> {
          for (std::size_t i = 0; i < ids.size(); ++i) {
            auto t = co_await things.get(ids[i]).call(&thing::where);
            if (from == 0) home[i] = t;
            BOOST_TEST((t == home[i]));
            threads.insert(t);
          }
        }(),
        from);
  }
  BOOST_TEST(threads.size() == 2u);  // 20 random ids cover both shards
}

BOOST_AUTO_TEST_SUITE_END()
