// SPDX-License-Identifier: Apache-2.0
// Failures, in one place: the one function that runs a user's callable and catches
// what it throws (run_capturing), which exceptions are cancellations rather than failures,
// and the aggregate a scope throws once all its children ended (those two defined in
// lib/errors.cpp). Who keeps and reports a caught failure is mapped in lib/README.md
// ("Failures: where each is caught and reported").
#pragma once

#include <cohort/export.hpp>

#include <cstddef>
#include <exception>
#include <vector>

namespace cohort::detail {

// True for task_cancelled: a callable that observed a cancellation did not fail.
COHORT_EXPORT bool is_cancellation(const std::exception_ptr& e) noexcept;

// How a run of a user's callable ended.
enum class run_outcome : unsigned char {
  returned,   // no exception
  failed,     // threw: a failure of the scope
  cancelled,  // threw a cancellation (is_cancellation): it observed a cancel, not a failure
};

// Inside a catch block: keeps the exception being handled in `error` and classifies it.
// Out of line (errors.cpp) so that run_capturing's caller keeps nothing alive for it:
// the call takes only `error`, whose address the landing pad recomputes.
COHORT_EXPORT run_outcome capture_current_exception(std::exception_ptr& error) noexcept;

// Runs `body()` (a user's callable, with whatever stores its result) and catches anything
// it throws into `error`, classified. Every job that runs user code (a child, a gather
// slot, a range chunk, a loop's leaf, race's contenders, run_in_pool's entry) goes
// through here, so what "a task failed" means is decided in this one function; each
// caller then keeps `error` in its own job's storage. The returned path is the plain call
// (a try block costs nothing until something throws); force-inlined so the hot jobs
// (gather slots, children) stay as they were. `error` is written only when it throws.
template <class Body>
[[gnu::always_inline]] inline run_outcome run_capturing(Body&& body,
                                                        std::exception_ptr& error) noexcept {
  try {
    body();
    return run_outcome::returned;
  } catch (...) {
    return capture_current_exception(error);
  }
}

// Throws task_group_error for `errors` (in spawn order) out of `total` callables (gather,
// race, with_timeout's contenders).
[[noreturn]] COHORT_EXPORT void throw_group_error(std::vector<std::exception_ptr> errors,
                                                  std::size_t total);

}  // namespace cohort::detail
