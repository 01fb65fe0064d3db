#pragma once
/// Exception types a caller can catch and tell apart.
#include <exception>
#include <stdexcept>
#include <string>

namespace cairn {

/// Base of every error cairn raises itself.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A string is not a valid actor id of the namespace it was given to.
class invalid_id : public error {
 public:
  using error::error;
};

/// A call by name (rpc.hpp) names a method the actor class does not offer,
/// or gives arguments that do not convert to its parameters.
class bad_call : public error {
 public:
  using error::error;
};

/// The runtime is stopping or stopped and takes no new work from outside.
class runtime_stopped : public error {
 public:
  runtime_stopped() : error("cairn: the runtime is stopped and accepts no new work") {}
};

/// An actor could not be activated: its constructor or its on_start() threw.
/// `cause()` is the original exception.
class activation_error : public error {
 public:
  activation_error(const std::string& what, std::exception_ptr cause)
      : error(what), cause_(std::move(cause)) {}
  [[nodiscard]] const std::exception_ptr& cause() const noexcept { return cause_; }

 private:
  std::exception_ptr cause_;
};

/// Something that needs a shard (a timer, the current actor) was used from a
/// thread that is not one of the runtime's shards.
class not_on_shard : public error {
 public:
  explicit not_on_shard(const char* what)
      : error(std::string("cairn: ") + what + " must be called from code running on a shard") {}
};

/// A storage operation failed. `kind()` says why, so callers can tell a
/// refused statement or an exceeded limit from a failed disk.
class storage_error : public error {
 public:
  enum class reason {
    invalid_argument,    // bad key, bad batch, wrong value type
    limit_exceeded,      // key + value, statement length, bound parameters, batch size
    refused_statement,   // BEGIN, SAVEPOINT, ATTACH, PRAGMA ... or internal tables in exec()
    sql,                 // SQLite rejected the statement (syntax, constraint, ...)
    io,                  // the database could not be opened, read or written (full disk, corrupt file)
    commit_failed,       // the flush of this output failed; the actor restarts from storage
    unavailable,         // no data directory, or the actor was reset after a failed commit
  };
  storage_error(reason r, const std::string& what) : error(what), reason_(r) {}
  [[nodiscard]] reason kind() const noexcept { return reason_; }

 private:
  reason reason_;
};

/// Returns the message of any exception_ptr, for logs.
[[nodiscard]] std::string describe(const std::exception_ptr& e);

}  // namespace cairn
