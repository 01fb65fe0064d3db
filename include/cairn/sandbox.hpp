#pragma once
/// eval++: a pool of V8 isolates that runs generated code with no capability
/// except those the host grants (values, host functions, actor stubs, fetch
/// under a policy)
/// and hard limits. Link cairn::sandbox.
#include <cairn/sandbox/actor_grant.hpp>
#include <cairn/sandbox/error.hpp>
#include <cairn/sandbox/fetch_policy.hpp>
#include <cairn/sandbox/limits.hpp>
#include <cairn/sandbox/pool.hpp>
#include <cairn/sandbox/worker_code.hpp>
