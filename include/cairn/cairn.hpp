#pragma once
/// Everything a program using cairn's actor runtime needs.
#include <cairn/actor.hpp>
#include <cairn/actor_id.hpp>
#include <cairn/actor_namespace.hpp>
#include <cairn/actor_ref.hpp>
#include <cairn/errors.hpp>
#include <cairn/runtime.hpp>
#include <cairn/runtime_options.hpp>
#include <cairn/sleep.hpp>
#include <cairn/spawn.hpp>
#include <cairn/task.hpp>
#include <cairn/use_task.hpp>
#include <cairn/when_all.hpp>
