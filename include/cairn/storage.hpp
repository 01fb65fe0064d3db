#pragma once
/// `cairn::storage`: an actor's own SQLite database, reached with
/// `storage()` from inside the actor.
///
///   auto n = storage().get_as<std::int64_t>("count").value_or(0);
///   storage().put("count", n + 1);
///   auto rows = storage().exec("SELECT name FROM users WHERE age > ?", 30).to_json();
///
/// Calls are synchronous and local: no other event of the actor runs during
/// one. Every write made between two suspension points (co_await on
/// something that is not storage) commits atomically, and nothing the actor
/// sends after a write (a reply, a message) is released before that write is
/// durable. A handler that throws discards the writes of the segment that
/// threw.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include <cairn/errors.hpp>

namespace cairn {

class actor;

/// Raw bytes, stored as a BLOB.
using blob = std::vector<std::uint8_t>;

/// A KV value: JSON or raw bytes.
class kv_value {
 public:
  kv_value() = default;
  kv_value(boost::json::value v) : v_(std::move(v)) {}  // NOLINT: implicit on purpose
  kv_value(blob b) : v_(std::move(b)) {}                 // NOLINT
  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, kv_value> && !std::is_same_v<std::decay_t<T>, blob> &&
             std::is_constructible_v<boost::json::value, T &&>)
  kv_value(T&& v) : v_(boost::json::value(std::forward<T>(v))) {}  // NOLINT

  [[nodiscard]] bool is_bytes() const noexcept { return v_.index() == 1; }
  /// The JSON value; throws storage_error if it is bytes.
  [[nodiscard]] const boost::json::value& json() const;
  /// The bytes; throws storage_error if it is JSON.
  [[nodiscard]] const blob& bytes() const;

  friend bool operator==(const kv_value&, const kv_value&) = default;

 private:
  std::variant<boost::json::value, blob> v_;
};

/// Bounds of storage::list(). Keys compare as bytes (UTF-8 order).
///
/// Not an aggregate on purpose: GCC 12 mis-copies an aggregate temporary
/// (`T{}`) made in the same full-expression as a co_await, so
/// `co_await ref.call(&a::list, cairn::list_options{})` freed a foreign
/// pointer. The same holds for a user's own aggregates passed to call().
struct list_options {
  list_options() {}  // NOLINT(modernize-use-equals-default): = default would keep it an aggregate
  std::string prefix;                       // only keys that start with this
  std::optional<std::string> start;         // first key, inclusive
  std::optional<std::string> start_after;   // first key, exclusive (instead of start)
  std::optional<std::string> end;           // last key, exclusive
  bool reverse = false;                     // descending order
  std::optional<std::size_t> limit;         // at most this many entries
};

/// A value of an SQL column or parameter.
using sql_value = std::variant<std::nullptr_t, std::int64_t, double, std::string, blob>;

/// The result of storage::exec(): every row of the (last) statement, read at
/// once, so it stays valid across awaits.
class sql_cursor {
 public:
  using row = std::vector<sql_value>;

  [[nodiscard]] const std::vector<std::string>& column_names() const noexcept { return columns_; }
  [[nodiscard]] const std::vector<row>& rows() const noexcept { return rows_; }
  [[nodiscard]] auto begin() const noexcept { return rows_.begin(); }
  [[nodiscard]] auto end() const noexcept { return rows_.end(); }
  [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }
  /// Rows the statements returned (SQLite has no per-statement scan count).
  [[nodiscard]] std::uint64_t rows_read() const noexcept { return rows_read_; }
  /// Rows inserted, updated or deleted.
  [[nodiscard]] std::uint64_t rows_written() const noexcept { return rows_written_; }

  /// Every row as a JSON object {column: value}; blobs become arrays of bytes.
  [[nodiscard]] boost::json::array to_json() const;
  /// The only row as a JSON object; throws storage_error unless there is exactly one.
  [[nodiscard]] boost::json::object one() const;
  /// The column `name` of row `i`.
  [[nodiscard]] const sql_value& at(std::size_t i, std::string_view name) const;

 private:
  friend class storage;
  std::vector<std::string> columns_;
  std::vector<row> rows_;
  std::uint64_t rows_read_ = 0;
  std::uint64_t rows_written_ = 0;
};

/// Limits, enforced with storage_error(limit_exceeded).
struct storage_limits {
  static constexpr std::size_t max_key_and_value = 2 * 1024 * 1024;
  static constexpr std::size_t max_statement = 100 * 1024;
  static constexpr std::size_t max_parameters = 100;
  static constexpr std::size_t max_batch = 128;
};

/// What the alarm handler learns about the firing.
struct alarm_info {
  std::chrono::system_clock::time_point scheduled_time;
  std::uint32_t retry_count = 0;  // 0 on the first attempt
  [[nodiscard]] bool is_retry() const noexcept { return retry_count > 0; }
};

namespace detail {
class storage_engine;
struct storage_access;
}  // namespace detail

class storage {
 public:
  ~storage();
  storage(const storage&) = delete;
  storage& operator=(const storage&) = delete;

  // ---- key-value ----
  [[nodiscard]] std::optional<kv_value> get(std::string_view key);
  /// The entries that exist among `keys` (at most 128).
  [[nodiscard]] std::map<std::string, kv_value> get(std::span<const std::string> keys);
  /// Typed convenience: std::int64_t, double, bool, std::string,
  /// boost::json::value or blob. Throws storage_error if the stored value has
  /// another type.
  template <class T>
  [[nodiscard]] std::optional<T> get_as(std::string_view key);

  void put(std::string_view key, const kv_value& value);
  /// Writes up to 128 entries.
  void put(std::span<const std::pair<std::string, kv_value>> entries);
  /// True if the key existed.
  bool remove(std::string_view key);
  /// Removes up to 128 keys; returns how many existed.
  std::size_t remove(std::span<const std::string> keys);
  [[nodiscard]] std::vector<std::pair<std::string, kv_value>> list(const list_options& options = {});
  /// Removes every key (SQL tables stay).
  void delete_all();

  // ---- SQL ----
  /// Runs one or more statements (separated by ';'); parameters bind to a
  /// single statement. BEGIN, COMMIT, SAVEPOINT, ATTACH, most PRAGMAs and
  /// cairn's own tables are refused: use transaction() instead.
  template <class... P>
  sql_cursor exec(std::string_view query, P&&... params) {
    std::vector<sql_value> values;
    values.reserve(sizeof...(P));
    (values.push_back(to_sql_value(std::forward<P>(params))), ...);
    return exec_values(query, values);
  }
  sql_cursor exec_values(std::string_view query, std::span<const sql_value> params);
  /// Bytes of the database file (pages in use times page size).
  [[nodiscard]] std::uint64_t database_size();
  /// Runs `f()` (synchronous) in a nested transaction: everything it wrote
  /// is undone if it throws; the exception propagates.
  template <class F>
  auto transaction(F&& f) -> std::invoke_result_t<F&>;
  /// The nested transaction transaction() is made of, for bindings whose
  /// callbacks return before they finish (JS's storage.transaction()). They
  /// nest as a stack, and each must end before the running write segment
  /// does (the handler's next co_await).
  void begin_nested();
  void commit_nested();
  void rollback_nested() noexcept;

  // ---- the actor's name ----
  /// The name this actor's id was made from (id_from_name), if one was
  /// recorded; reading it never creates the database. JS actors record it
  /// the first time they are reached by name (ctx.id.name); a native actor
  /// may record its own.
  [[nodiscard]] std::optional<std::string> id_name();
  /// Records `name` (a write of the running segment). Throws storage_error
  /// (invalid_argument) if this actor's id is not id_from_name(name) of its
  /// namespace.
  void record_id_name(std::string_view name);

  // ---- alarm ----
  /// Sets the actor's one alarm (replacing any other); alarm() runs at `t`
  /// even if the actor is hibernated then.
  void set_alarm(std::chrono::system_clock::time_point t);
  [[nodiscard]] std::optional<std::chrono::system_clock::time_point> get_alarm();
  void delete_alarm();

 private:
  friend struct detail::storage_access;
  explicit storage(std::unique_ptr<detail::storage_engine> e);

  template <class T>
  static sql_value to_sql_value(T&& v) {
    using D = std::decay_t<T>;
    if constexpr (std::is_same_v<D, sql_value> || std::is_same_v<D, std::nullptr_t> ||
                  std::is_same_v<D, std::string> || std::is_same_v<D, blob> || std::is_same_v<D, double>) {
      return sql_value(std::forward<T>(v));
    } else if constexpr (std::is_same_v<D, bool> || std::is_integral_v<D>) {
      return sql_value(static_cast<std::int64_t>(v));
    } else if constexpr (std::is_floating_point_v<D>) {
      return sql_value(static_cast<double>(v));
    } else if constexpr (std::is_convertible_v<T&&, std::string_view>) {
      return sql_value(std::string(std::string_view(v)));
    } else {
      static_assert(sizeof(D) == 0, "exec() binds integers, floating point, strings, blobs and nullptr");
    }
  }

  std::unique_ptr<detail::storage_engine> engine_;
};

template <class T>
std::optional<T> storage::get_as(std::string_view key) {
  auto v = get(key);
  if (!v) return std::nullopt;
  if constexpr (std::is_same_v<T, blob>) {
    return v->bytes();
  } else if constexpr (std::is_same_v<T, boost::json::value>) {
    return v->json();
  } else {
    try {
      return boost::json::value_to<T>(v->json());
    } catch (const std::exception& e) {
      throw storage_error(storage_error::reason::invalid_argument,
                          "cairn: the value of key '" + std::string(key) + "' has another type: " + e.what());
    }
  }
}

template <class F>
auto storage::transaction(F&& f) -> std::invoke_result_t<F&> {
  begin_nested();
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      f();
      commit_nested();
    } else {
      auto r = f();
      commit_nested();
      return r;
    }
  } catch (...) {
    rollback_nested();
    throw;
  }
}

}  // namespace cairn
