// SPDX-License-Identifier: Apache-2.0
#include "summary.hpp"

#include <cstring>

namespace cohort_run {

std::string failure_summary(const std::map<std::size_t, job_record>& failures,
                            std::size_t failures_not_kept, const run_totals& totals) {
  std::string text;
  for (const auto& [seq, r] : failures) {
    std::string why;
    if (r.status == job_status::timed_out)
      why = "timed out";
    else if (r.signal != 0)
      why = "signal " + std::to_string(r.signal) + " (" + strsignal(r.signal) + ")";
    else
      why = "exit " + std::to_string(r.exit_code);
    text += "cohort-run: job " + std::to_string(seq) + " failed (" + why +
            "): " + r.command.substr(0, 300);
    if (!r.last_stderr_line.empty()) text += ": " + r.last_stderr_line;
    text += "\n";
  }
  if (failures_not_kept > 0)
    text += "cohort-run: ... and " + std::to_string(failures_not_kept) + " more failed jobs\n";
  text += std::to_string(totals.jobs()) + " jobs: " + std::to_string(totals.succeeded) +
          " succeeded, " + std::to_string(totals.failed) + " failed, " +
          std::to_string(totals.cancelled) + " cancelled, " + std::to_string(totals.skipped) +
          " skipped\n";
  return text;
}

int exit_status(const run_totals& totals, const stop_cause& cause) {
  if (cause.signal != 0) return 128 + cause.signal;
  if (cause.halt_status) return *cause.halt_status;
  std::size_t failed = totals.failed;
  if (cause.deadline) failed += totals.cancelled + (failed + totals.cancelled == 0 ? 1 : 0);
  return failed > 100 ? 101 : static_cast<int>(failed);
}

}  // namespace cohort_run
