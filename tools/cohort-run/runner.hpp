// SPDX-License-Identifier: Apache-2.0
// The job runner: reads the input as slots free up, runs each job as a task of one
// cohort task_group (run_process inside the task, so a halt, the deadline or a signal
// cancels the group and every running job's process group is killed), and hands each
// finished job to the output, the joblog, the report, the bar and the halt policy.
#pragma once

#include "options.hpp"

namespace cohort_run {

// Runs the whole batch; returns the exit status.
int run_batch(const run_options& options);

}  // namespace cohort_run
