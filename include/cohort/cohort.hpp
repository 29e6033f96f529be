// SPDX-License-Identifier: Apache-2.0
// cohort: a work-stealing task scheduler with structured task groups.
// The umbrella header: everything public.
#pragma once

#include <cohort/algorithm.hpp>
#include <cohort/errors.hpp>
#include <cohort/gather.hpp>
#include <cohort/options.hpp>
#include <cohort/outcome.hpp>
#include <cohort/process.hpp>
#include <cohort/scheduler.hpp>
#include <cohort/task.hpp>
#include <cohort/task_group.hpp>
#include <cohort/wait.hpp>
#include <cohort/with_timeout.hpp>

/// @namespace cohort
/// Everything public of cohort: scheduler, task_group, task, gather, wait,
/// as_completed, with_timeout, race. `cohort::detail` is machinery, not API.
