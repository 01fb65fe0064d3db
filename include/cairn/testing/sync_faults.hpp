#pragma once
/// Hooks into the group sync, which makes the `full` commits of every shard
/// durable (an fdatasync of the commit log) before the output
/// they hold leaves (for tests; process-wide, like the fault VFS).
namespace cairn::testing {

/// While true, no group sync starts (nor claims what it would cover): `full`
/// commits stay not yet durable and the output they hold stays held. Turn it
/// off before a runtime stops (a stop waits for the syncs of what it
/// committed).
void hold_group_syncs(bool on) noexcept;
/// While true, every group sync fails (as fdatasync does on an I/O error):
/// the output it would release fails and its actors restart from storage.
/// As after a real failure, the runtime's later syncs are each a syncfs.
void fail_group_syncs(bool on) noexcept;
/// How many epochs shards have handed to group syncs in this process: a
/// shard hands one over right after committing it, so a test that sees the
/// count grow knows the commit is done.
[[nodiscard]] unsigned long long group_sync_requests() noexcept;
/// How many group syncs were an fdatasync of the commit log (the rest, after
/// a failure, are syncfs).
[[nodiscard]] unsigned long long group_syncs_of_the_log() noexcept;

}  // namespace cairn::testing
