// SPDX-License-Identifier: Apache-2.0
// Waiting for something to complete, from anywhere. The join logic of groups, get() of
// tasks and the combinators all end here.
//
// On a worker (of any pool): run what the waiting task may run (worker::wait), then
// block while another thread takes the worker's place. Elsewhere: park in the parking lot
// on a private futex word, never spinning.
#pragma once

#include <chrono>

#include "worker.hpp"

namespace cohort::detail {

// Returns false if the deadline passed first.
bool wait_on(wait_target& target,
             worker::clock::time_point deadline = worker::clock::time_point::max());

// Sleeps in the parking lot until the target is done or the deadline passes; runs
// nothing. False if the deadline passed first. Throws std::bad_alloc only for a wait on
// several keys, before anything was linked.
bool block_on(wait_target& target, worker::clock::time_point deadline);

}  // namespace cohort::detail
