#pragma once
/// A SQLite VFS that fails on demand, to test what happens when the disk is
/// full: set runtime_options::sqlite_vfs to install_fault_vfs(), then
/// fail_writes(true) makes every write and sync fail with SQLITE_FULL.
namespace cairn::testing {

/// Registers the VFS (once) and returns its name.
const char* install_fault_vfs();
/// While true, writes, truncations and syncs through the VFS fail.
void fail_writes(bool on) noexcept;

}  // namespace cairn::testing
