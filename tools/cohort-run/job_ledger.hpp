// SPDX-License-Identifier: Apache-2.0
// The bookkeeping of a run, one ended or skipped job at a time: the totals, the joblog, the
// report, the bar, the failures kept for the summary, the halt decision, and at the end the
// summary and GNU parallel's exit status. Shared by the local runner and the MPI runner.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "job_record.hpp"
#include "joblog.hpp"
#include "options.hpp"
#include "progress_bar.hpp"
#include "report.hpp"
#include "summary.hpp"

namespace cohort_run {

class job_ledger {
 public:
  enum class halt_action { none, soon, now };

  // Opens the joblog (appending under --resume), the report and the bar. `total`: the
  // number of jobs when known (--bar, percentages in --halt). `host`: the joblog's Host
  // column (":" is GNU's "this machine"). `in_input_order`: the joblog and the report are
  // written in input order (records held back until the earlier ones are in), else as
  // jobs end.
  job_ledger(const run_options& options, std::optional<std::size_t> total, bool in_input_order);

  // Whether --resume / --resume-failed skips job `seq`.
  bool skipped_by_resume(std::size_t seq) const;

  // One job ended (or was skipped). `running`: jobs still running besides this one (the
  // bar). Thread-safe. Says whether --halt triggered now.
  halt_action record(job_record r, std::size_t running, const std::string& host = ":");

  void note_signal(int sig);
  void note_deadline();
  void add_skipped(std::size_t n);
  std::size_t finished() const;

  // Writes what is held back, closes the bar, the report and the joblog, prints the summary
  // to stderr; returns the exit status.
  int finish();

 private:
  void write_logs(const job_record& r, const std::string& host);  // under mutex_
  halt_action check_halt(const job_record& r);                    // under mutex_

  const run_options& options_;
  std::optional<std::size_t> total_;
  bool in_input_order_;
  std::optional<joblog_record> resume_from_;

  mutable std::mutex mutex_;  // guards everything below
  std::optional<joblog_writer> joblog_;
  std::optional<report_writer> report_;
  std::optional<progress_bar> bar_;
  run_totals totals_;
  std::size_t finished_ = 0;
  std::map<std::size_t, job_record> failures_;
  std::size_t failures_dropped_ = 0;
  stop_cause cause_;
  // in_input_order_: records waiting for an earlier one (with their host), the next seq due.
  std::map<std::size_t, std::pair<job_record, std::string>> held_;
  std::size_t next_seq_ = 1;
};

}  // namespace cohort_run
