// SPDX-License-Identifier: Apache-2.0
// The end of a run: the failed jobs in input order and the totals on stderr, and GNU
// parallel's exit status.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "job_record.hpp"

namespace cohort_run {

struct run_totals {
  std::size_t succeeded = 0, failed = 0, cancelled = 0, skipped = 0;
  std::size_t jobs() const { return succeeded + failed + cancelled + skipped; }
};

// Why the run stopped early, if it did.
struct stop_cause {
  std::optional<int> halt_status;  // --halt triggered: the status to exit with
  bool deadline = false;
  int signal = 0;  // SIGINT, SIGTERM, SIGHUP
};

// "job 3 failed (exit 2): cmd: last stderr line" per failure, then the totals line.
std::string failure_summary(const std::map<std::size_t, job_record>& failures,
                            std::size_t failures_not_kept, const run_totals& totals);

// 0; 1-100 failed jobs; 101 more; the halt's status; 128+signal. After a deadline the
// cancelled jobs count as failed.
int exit_status(const run_totals& totals, const stop_cause& cause);

}  // namespace cohort_run
