// SPDX-License-Identifier: Apache-2.0
// What every scope shares about failures (defined in lib/errors.cpp): which exceptions
// are cancellations rather than failures, and the aggregate a scope throws once all its
// children ended. Where each kind of job catches its callable's exception, and who
// reports it, is mapped in lib/README.md ("Failures: where each is caught and reported").
#pragma once

#include <cohort/export.hpp>

#include <cstddef>
#include <exception>
#include <vector>

namespace cohort::detail {

// True for task_cancelled: a callable that observed a cancellation did not fail.
COHORT_EXPORT bool is_cancellation(const std::exception_ptr& e) noexcept;

// Throws task_group_error for `errors` (in spawn order) out of `total` callables (gather,
// race, with_timeout's contenders).
[[noreturn]] COHORT_EXPORT void throw_group_error(std::vector<std::exception_ptr> errors,
                                                  std::size_t total);

}  // namespace cohort::detail
