#pragma once
// The file of a new actor database, written in one go from an image SQLite
// made once per process: an empty database with cairn's tables, already in
// WAL mode. Making each file through SQLite instead switches a new database
// to WAL through a rollback journal, which costs six fdatasyncs per actor
// (journal, directory, database, and the checkpoint at close); the image
// costs none, and the first commit's WAL header sync is all that remains.
#include <cstdint>
#include <filesystem>

namespace cairn::detail {

/// cairn's own tables: the KV store and the alarm (CREATE ... IF NOT EXISTS).
extern const char* const cairn_schema;

/// Writes the image to `path` if no file is there (O_EXCL); false if one
/// is. Throws storage_error (io) if the file cannot be written, leaving none.
/// Without an fsync: a `full` commit's group sync covers the new file too.
/// On ext4 (data=ordered, its default) a crash before that sync leaves no
/// file, an empty one (SQLite takes it for a new database) or the image.
bool create_database_file(const std::filesystem::path& path);

/// Counts the database files made in this process (by the image, or by
/// SQLite when a test's VFS opens them): the group sync makes a syncfs of
/// any sync that follows a new file, since fdatasync of the file alone
/// would leave its folder entry behind.
void note_file_created() noexcept;
[[nodiscard]] std::uint64_t files_created() noexcept;

}  // namespace cairn::detail
