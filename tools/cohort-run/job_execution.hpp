// SPDX-License-Identifier: Apache-2.0
// Running one job: its attempts (--retries), its process (exec'd directly or through
// /bin/sh), its captured output, and the record of how it ended. Shared by the local
// runner and the MPI runner (which runs it on any rank and sends the result to rank 0).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "job_record.hpp"
#include "options.hpp"
#include "output.hpp"

namespace cohort_run {

struct job_hooks {
  std::function<void(int pid)> on_start;                   // each attempt
  std::function<void(std::string_view chunk)> saw_output;  // the watchdog: the last line
  // --line-buffer without -k: complete lines, written at once (null: captured whole).
  std::function<void(const std::string& tag, std::string_view lines, bool to_stderr)> lines;
  std::function<bool()> stop_retrying;  // a halt: no further attempt
};

struct executed_job {
  job_record record;
  job_output output;
};

// Runs job `seq` (its `command` rendered already) to the end, from a task (run_process
// waits inside blocking()). A cancel of the calling task kills the process group.
executed_job execute_job(const run_options& options, std::size_t seq,
                         const std::vector<std::string>& input, std::string command,
                         const job_hooks& hooks);

// --results DIR: DIR/<seq>/{stdout,stderr}.
void make_results_directory(const std::string& dir);
void write_results(const std::string& dir, const job_output& output);

// The input words joined by spaces (--tag, the report).
std::string joined(const std::vector<std::string>& words);

}  // namespace cohort_run
