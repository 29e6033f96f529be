// Waiting for something to complete, from anywhere. The join logic of groups, get() of
// tasks and the combinators all end here.
//
// On a worker of the target's pool: help-while-wait (worker::run_until). Elsewhere (a
// thread outside any pool, or a worker of another scheduler): park in the parking lot on
// a private futex word, never spinning.
#pragma once

#include <chrono>

#include "worker.hpp"

namespace cohort::detail {

// Returns false if the deadline passed first.
bool wait_on(wait_target& target,
             worker::clock::time_point deadline = worker::clock::time_point::max());

}  // namespace cohort::detail
