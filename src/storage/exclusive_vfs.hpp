#pragma once
// The VFS under every actor database: SQLite's "unix-none" (no locking at
// all) plus one lock of our own per database file.
//
// Why not SQLite's default "unix" VFS: its POSIX locks are per process, so it
// keeps every open file in one list and walks that list on each open (twice:
// to share lock state and to find a descriptor to reuse). With thousands of
// actor databases open, opening one more cost about half a millisecond of CPU
// (measured with 10,000 open); hibernation and waking pay it each time. cairn
// needs none of that sharing: one actor, one connection, in exclusive locking
// mode, and one process per data directory (data_dir_lock.hpp).
//
// The lock we keep instead: an open-file-description lock (F_OFD_SETLK) for
// writing on the bytes SQLite's own locks use, taken when the database file
// opens and held until it closes. It keeps other programs out as SQLite's
// exclusive lock did (an sqlite3 shell gets "database is locked" instead of
// reading, or checkpointing, a WAL whose index lives in our heap), and it
// costs one descriptor and one fcntl per open file.
namespace cairn::detail {

/// The registered name of the exclusive VFS, registering it on first use.
[[nodiscard]] const char* exclusive_vfs();

}  // namespace cairn::detail
