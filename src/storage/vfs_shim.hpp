#pragma once
// The common part of a SQLite VFS whose files wrap the files of another VFS
// (the logged VFS of `full` databases, and the tests' fault VFS): a wrapper
// starts with `wrapped`, and its io methods forward to the inner file except
// the ones it replaces.
#include <sqlite3.h>

#include <cstddef>

namespace cairn::detail::vfs_shim {

struct wrapped {
  sqlite3_file base;   // first: SQLite sees this
  sqlite3_file* real;  // the inner VFS's file, stored after the wrapper (see inner_file)
};

[[nodiscard]] inline sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<wrapped*>(f)->real; }

/// Where the inner file goes after a wrapper of `wrapper_size` bytes
/// (rounded up so that it stays aligned); the VFS's szOsFile is that offset
/// plus the inner VFS's.
[[nodiscard]] constexpr std::size_t inner_offset(std::size_t wrapper_size) { return (wrapper_size + 15) / 16 * 16; }
[[nodiscard]] inline sqlite3_file* inner_file(sqlite3_file* f, std::size_t wrapper_size) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + inner_offset(wrapper_size));
}

/// Ends a wrapper's xOpen: if the inner file opened, SQLite sees `methods`
/// (and will call their xClose); else the wrapper is destroyed here, since
/// SQLite calls no xClose for a file without methods. `Wrapper` starts with
/// a `wrapped w`.
template <class Wrapper>
void adopt_or_destroy(Wrapper* wrapper, sqlite3_file* f, const sqlite3_io_methods& methods) {
  if (wrapper->w.real->pMethods) {
    wrapper->w.base.pMethods = &methods;
  } else {
    wrapper->~Wrapper();
    f->pMethods = nullptr;
  }
}

/// io methods (version 3) that forward every call to the inner file.
[[nodiscard]] sqlite3_io_methods forwarding_methods();

/// A copy of `inner` named `name`, whose files are `wrapper_size` bytes of
/// wrapper and then the inner VFS's file, opened by `open`.
[[nodiscard]] sqlite3_vfs wrapping_vfs(sqlite3_vfs* inner, const char* name, std::size_t wrapper_size,
                                       int (*open)(sqlite3_vfs*, sqlite3_filename, sqlite3_file*, int, int*));

}  // namespace cairn::detail::vfs_shim
