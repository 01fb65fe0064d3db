// cairn::storage: the KV store, SQL, and the alarm row, on the actor's
// storage_engine.
#include <cairn/storage.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

#include <cairn/actor_namespace.hpp>
#include <cairn/detail/shard.hpp>

#include "storage/storage_engine.hpp"

namespace cairn {

using reason = storage_error::reason;

namespace {

void check_key_value(std::string_view key, std::size_t value_size) {
  if (key.size() + value_size > storage_limits::max_key_and_value)
    throw storage_error(reason::limit_exceeded, "cairn: key '" + std::string(key.substr(0, 64)) +
                                                    "' plus its value is " +
                                                    std::to_string(key.size() + value_size) +
                                                    " bytes; the limit is 2 MiB");
}

void check_batch(std::size_t n) {
  if (n > storage_limits::max_batch)
    throw storage_error(reason::limit_exceeded,
                        "cairn: a batch holds at most 128 keys; this one has " + std::to_string(n));
}

void bind_key(sqlite3_stmt* s, int i, std::string_view key) {
  // Keys are BLOBs so that they sort as bytes. Not copied: the key outlives
  // every step of the statement, and cached() clears the bindings before the
  // statement's next use.
  sqlite3_bind_blob(s, i, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
}

// The JSON text of an integer that fits std::int64_t ("-12", "0"; not "012"
// or "-0"), which is what boost::json::parse would make of it too.
std::optional<std::int64_t> json_int64(std::string_view t) {
  std::size_t digits = t.size() - (!t.empty() && t[0] == '-' ? 1 : 0);
  if (digits == 0 || digits > 18) return std::nullopt;  // 18 digits always fit
  const char* first = t.data() + (t.size() - digits);
  if (*first == '0' && (digits > 1 || t[0] == '-')) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

kv_value read_value(sqlite3_stmt* s, int col) {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, col));
  auto n = static_cast<std::size_t>(sqlite3_column_bytes(s, col));
  if (sqlite3_column_int(s, col + 1) != 0) return kv_value(blob(p, p + n));
  const std::string_view text(reinterpret_cast<const char*>(p), n);
  if (auto i = json_int64(text)) return kv_value(boost::json::value(*i));  // the common case, without a parser
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) throw storage_error(reason::io, "cairn: a stored JSON value does not parse: " + ec.message());
  return kv_value(std::move(v));
}

std::string column_key(sqlite3_stmt* s, int col) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, col));
  return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s, col)));
}

// Runs a write statement to completion within the current segment.
void step_write(detail::storage_engine& e, sqlite3_stmt* s, const char* what) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    e.check_transaction_survived();
    e.fail(what, rc);
  }
}

// The smallest string greater than every string that starts with p ("" if none).
std::optional<std::string> prefix_end(std::string p) {
  while (!p.empty()) {
    auto c = static_cast<unsigned char>(p.back());
    if (c != 0xff) {
      p.back() = static_cast<char>(c + 1);
      return p;
    }
    p.pop_back();
  }
  return std::nullopt;
}

enum kv_slot : int { kv_get = 1, kv_put, kv_remove, kv_remove_all, kv_size };

}  // namespace

// ---- kv_value ----

const boost::json::value& kv_value::json() const {
  if (is_bytes()) throw storage_error(reason::invalid_argument, "cairn: this value holds bytes, not JSON");
  return std::get<0>(v_);
}

const blob& kv_value::bytes() const {
  if (!is_bytes()) throw storage_error(reason::invalid_argument, "cairn: this value holds JSON, not bytes");
  return std::get<1>(v_);
}

// ---- storage ----

storage::storage(std::unique_ptr<detail::storage_engine> e) : engine_(std::move(e)) {}
storage::~storage() = default;

std::optional<kv_value> storage::get(std::string_view key) {
  engine_->before_read();
  sqlite3_stmt* s = engine_->cached(kv_get, "SELECT value, is_bytes FROM _cairn_kv WHERE key = ?");
  bind_key(s, 1, key);
  int rc = sqlite3_step(s);
  std::optional<kv_value> out;
  if (rc == SQLITE_ROW) {
    try {
      out = read_value(s, 0);
    } catch (...) {
      sqlite3_reset(s);
      throw;
    }
    rc = SQLITE_DONE;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) engine_->fail("reading a key failed", rc);
  return out;
}

std::map<std::string, kv_value> storage::get(std::span<const std::string> keys) {
  check_batch(keys.size());
  std::map<std::string, kv_value> out;
  for (auto& k : keys)
    if (auto v = get(k)) out.emplace(k, std::move(*v));
  return out;
}

void storage::put(std::string_view key, const kv_value& value) {
  std::string text;
  char number[24];
  const void* data;
  std::size_t size;
  if (value.is_bytes()) {
    data = value.bytes().data();
    size = value.bytes().size();
  } else if (value.json().is_int64()) {  // what boost::json::serialize writes, without it
    data = number;
    size = static_cast<std::size_t>(std::to_chars(number, number + sizeof number, value.json().get_int64()).ptr - number);
  } else {
    text = boost::json::serialize(value.json());
    data = text.data();
    size = text.size();
  }
  check_key_value(key, size);
  engine_->before_write();
  sqlite3_stmt* s =
      engine_->cached(kv_put, "INSERT OR REPLACE INTO _cairn_kv(key, value, is_bytes) VALUES (?, ?, ?)");
  bind_key(s, 1, key);
  sqlite3_bind_blob(s, 2, size ? data : "", static_cast<int>(size), SQLITE_STATIC);
  sqlite3_bind_int(s, 3, value.is_bytes() ? 1 : 0);
  step_write(*engine_, s, "writing a key failed");
}

void storage::put(std::span<const std::pair<std::string, kv_value>> entries) {
  check_batch(entries.size());
  // All or nothing, even if one entry is refused half-way.
  transaction([&] {
    for (auto& [k, v] : entries) put(k, v);
  });
}

bool storage::remove(std::string_view key) {
  engine_->before_write();
  sqlite3_stmt* s = engine_->cached(kv_remove, "DELETE FROM _cairn_kv WHERE key = ?");
  bind_key(s, 1, key);
  step_write(*engine_, s, "deleting a key failed");
  return sqlite3_changes(engine_->db()) > 0;
}

std::size_t storage::remove(std::span<const std::string> keys) {
  check_batch(keys.size());
  return transaction([&] {
    std::size_t n = 0;
    for (auto& k : keys) n += remove(k) ? 1 : 0;
    return n;
  });
}

void storage::delete_all() {
  engine_->before_write();
  step_write(*engine_, engine_->cached(kv_remove_all, "DELETE FROM _cairn_kv"), "deleting all keys failed");
}

std::vector<std::pair<std::string, kv_value>> storage::list(const list_options& o) {
  if (o.start && o.start_after)
    throw storage_error(reason::invalid_argument, "cairn: list() takes start or start_after, not both");
  std::string sql = "SELECT key, value, is_bytes FROM _cairn_kv WHERE 1";
  std::vector<std::string> binds;
  auto bound = [&](const char* cmp, const std::string& k) {
    sql += std::string(" AND key ") + cmp + " ?";
    binds.push_back(k);
  };
  if (!o.prefix.empty()) {
    bound(">=", o.prefix);
    if (auto e = prefix_end(o.prefix)) bound("<", *e);
  }
  if (o.start) bound(">=", *o.start);
  if (o.start_after) bound(">", *o.start_after);
  if (o.end) bound("<", *o.end);
  sql += o.reverse ? " ORDER BY key DESC" : " ORDER BY key ASC";
  if (o.limit) sql += " LIMIT " + std::to_string(*o.limit);
  detail::statement st(engine_->db(), sql);
  for (std::size_t i = 0; i < binds.size(); ++i) bind_key(st.get(), static_cast<int>(i + 1), binds[i]);
  std::vector<std::pair<std::string, kv_value>> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) out.emplace_back(column_key(st.get(), 0), read_value(st.get(), 1));
  if (rc != SQLITE_DONE) engine_->fail("listing keys failed", rc);
  return out;
}

// ---- SQL ----

namespace {

void bind_value(sqlite3_stmt* s, int i, const sql_value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          sqlite3_bind_null(s, i);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          sqlite3_bind_int64(s, i, x);
        } else if constexpr (std::is_same_v<T, double>) {
          sqlite3_bind_double(s, i, x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          sqlite3_bind_text(s, i, x.data(), static_cast<int>(x.size()), SQLITE_STATIC);
        } else {
          sqlite3_bind_blob(s, i, x.empty() ? "" : static_cast<const void*>(x.data()), static_cast<int>(x.size()),
                            SQLITE_STATIC);
        }
      },
      v);
}

sql_value column_value(sqlite3_stmt* s, int i) {
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER: return sqlite3_column_int64(s, i);
    case SQLITE_FLOAT: return sqlite3_column_double(s, i);
    case SQLITE_TEXT:
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, i)),
                         static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
    case SQLITE_BLOB: {
      const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, i));
      return blob(p, p + sqlite3_column_bytes(s, i));
    }
    default: return nullptr;
  }
}

struct user_sql_scope {
  detail::storage_engine& e;
  explicit user_sql_scope(detail::storage_engine& en) : e(en) {
    e.user_sql = true;
    e.refusal.clear();
  }
  ~user_sql_scope() { e.user_sql = false; }
};

}  // namespace

sql_cursor storage::exec_values(std::string_view query, std::span<const sql_value> params) {
  if (query.size() > storage_limits::max_statement)
    throw storage_error(reason::limit_exceeded, "cairn: a statement is at most 100 KiB; this one is " +
                                                    std::to_string(query.size()) + " bytes");
  if (params.size() > storage_limits::max_parameters)
    throw storage_error(reason::limit_exceeded, "cairn: at most 100 bound parameters; got " +
                                                    std::to_string(params.size()));
  sqlite3* db = engine_->db();
  engine_->end_read_transaction();
  sql_cursor out;
  user_sql_scope scope(*engine_);
  const char* p = query.data();
  const char* end = query.data() + query.size();
  bool bound = false;
  while (p < end) {
    const char* tail = nullptr;
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, p, static_cast<int>(end - p), &raw, &tail);
    detail::statement owned(raw);  // finalized however this iteration ends
    if (rc != SQLITE_OK) {
      if (!engine_->refusal.empty())
        throw storage_error(reason::refused_statement, "cairn: " + engine_->refusal);
      engine_->fail("the statement does not compile", rc);
    }
    p = tail;
    if (!raw) continue;  // whitespace or a comment
    int n = sqlite3_bind_parameter_count(raw);
    if (n > 0 || !params.empty()) {
      if (bound)
        throw storage_error(reason::invalid_argument,
                            "cairn: parameters bind to a single statement; split the query into several exec() calls");
      if (static_cast<std::size_t>(n) != params.size())
        throw storage_error(reason::invalid_argument, "cairn: the statement has " + std::to_string(n) +
                                                          " parameters; " + std::to_string(params.size()) +
                                                          " were given");
      for (int i = 0; i < n; ++i) bind_value(raw, i + 1, params[static_cast<std::size_t>(i)]);
      bound = true;
    }
    if (!sqlite3_stmt_readonly(raw)) engine_->before_write();
    int cols = sqlite3_column_count(raw);
    out.columns_.clear();
    out.rows_.clear();
    for (int c = 0; c < cols; ++c) out.columns_.emplace_back(sqlite3_column_name(raw, c));
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      sql_cursor::row r;
      r.reserve(static_cast<std::size_t>(cols));
      for (int c = 0; c < cols; ++c) r.push_back(column_value(raw, c));
      out.rows_.push_back(std::move(r));
      ++out.rows_read_;
    }
    if (rc != SQLITE_DONE) {
      engine_->check_transaction_survived();
      engine_->fail("the statement failed", rc);
    }
    if (!sqlite3_stmt_readonly(raw)) out.rows_written_ += static_cast<std::uint64_t>(sqlite3_changes64(db));
  }
  if (!params.empty() && !bound)
    throw storage_error(reason::invalid_argument, "cairn: parameters were given but the query has no statement");
  return out;
}

std::uint64_t storage::database_size() {
  sqlite3* db = engine_->db();
  auto pragma = [&](const char* sql) -> std::uint64_t {
    detail::statement st(db, sql);
    int rc = sqlite3_step(st.get());
    if (rc != SQLITE_ROW) engine_->fail("reading the database size failed", rc);
    return static_cast<std::uint64_t>(sqlite3_column_int64(st.get(), 0));
  };
  return pragma("PRAGMA page_count") * pragma("PRAGMA page_size");
}

void storage::begin_nested() { engine_->begin_nested(); }
void storage::commit_nested() { engine_->commit_nested(); }
void storage::rollback_nested() noexcept { engine_->rollback_nested(); }

// ---- the actor's name ----

std::optional<std::string> storage::id_name() { return engine_->read_id_name(); }

void storage::record_id_name(std::string_view name) {
  const actor_id& own = engine_->owner().id();
  if (detail::id_from_name(*own.ns(), name) != own)
    throw storage_error(reason::invalid_argument, "cairn: '" + std::string(name) + "' is not the name of " +
                                                      own.namespace_name() + "/" + own.to_string());
  engine_->write_id_name(name);
}

// ---- alarm ----

namespace {
std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
}  // namespace

void storage::set_alarm(std::chrono::system_clock::time_point t) { engine_->write_alarm(detail::stored_alarm{to_ms(t), 0}); }

std::optional<std::chrono::system_clock::time_point> storage::get_alarm() {
  auto a = engine_->read_alarm();
  if (!a) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(a->at_ms));
}

void storage::delete_alarm() { engine_->write_alarm(std::nullopt); }

// ---- sql_cursor ----

namespace {
boost::json::value to_json(const sql_value& v) {
  return std::visit(
      [](const auto& x) -> boost::json::value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, blob>) {
          boost::json::array a;
          for (auto b : x) a.push_back(b);
          return a;
        } else {
          return boost::json::value(x);
        }
      },
      v);
}
}  // namespace

boost::json::array sql_cursor::to_json() const {
  boost::json::array out;
  out.reserve(rows_.size());
  for (auto& r : rows_) {
    boost::json::object o;
    for (std::size_t c = 0; c < columns_.size(); ++c) o[columns_[c]] = cairn::to_json(r[c]);
    out.push_back(std::move(o));
  }
  return out;
}

boost::json::object sql_cursor::one() const {
  if (rows_.size() != 1)
    throw storage_error(reason::invalid_argument,
                        "cairn: one() expects exactly one row; the query returned " + std::to_string(rows_.size()));
  return to_json()[0].as_object();
}

const sql_value& sql_cursor::at(std::size_t i, std::string_view name) const {
  if (i >= rows_.size())
    throw storage_error(reason::invalid_argument, "cairn: row " + std::to_string(i) + " does not exist");
  for (std::size_t c = 0; c < columns_.size(); ++c)
    if (columns_[c] == name) return rows_[i][c];
  throw storage_error(reason::invalid_argument, "cairn: no column named '" + std::string(name) + "'");
}

}  // namespace cairn
