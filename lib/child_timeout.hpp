// SPDX-License-Identifier: Apache-2.0
// Per-child deadlines (task_options::timeout), defined in child_timeout.cpp. Arming is
// group_core::arm_child_timeout (at spawn, before the child is published).
#pragma once

#include <cohort/detail/child_base.hpp>

namespace cohort::detail {

// At the child's end: disarms its timer (waiting out a callback in progress); true if
// the deadline passed first.
bool disarm_child_timeout(child_base* c) noexcept;

}  // namespace cohort::detail
