#pragma once
/// eval++: a pool of V8 isolates that runs generated code with no capability
/// except those the host grants (values, host functions, fetch under a policy)
/// and hard limits. Link cairn::sandbox.
#include <cairn/sandbox/error.hpp>
#include <cairn/sandbox/fetch_policy.hpp>
#include <cairn/sandbox/limits.hpp>
#include <cairn/sandbox/pool.hpp>
#include <cairn/sandbox/worker_code.hpp>
