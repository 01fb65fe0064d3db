#pragma once
// The file of a new actor database, written in one go from an image SQLite
// made once per process: an empty database with cairn's tables, already in
// WAL mode. Making each file through SQLite instead switches a new database
// to WAL through a rollback journal, which costs six fdatasyncs per actor
// (journal, directory, database, and the checkpoint at close); the image
// costs none, and the first commit's WAL header sync is all that remains.
#include <filesystem>
#include <span>

namespace cairn::detail {

/// cairn's own tables: the KV store and the alarm (CREATE ... IF NOT EXISTS).
extern const char* const cairn_schema;

/// Makes the folders above `path` that are missing; throws storage_error
/// (io) if it cannot.
void make_parent_folders(const std::filesystem::path& path);

/// Writes the image to `path` if no file is there (O_EXCL); false if one
/// is. Makes the folders above it if they are missing. Throws storage_error
/// (io) if the file cannot be written, leaving none.
/// Without an fsync: for a `full` database the commit log records the
/// creation (log_database_created, with the image), and its replay writes
/// the file again if a crash left none or an empty one.
bool create_database_file(const std::filesystem::path& path);

/// The image create_database_file writes.
[[nodiscard]] std::span<const unsigned char> database_image();

}  // namespace cairn::detail
