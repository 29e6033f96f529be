// SPDX-License-Identifier: Apache-2.0
// What cohort-run knows about one job once it ended (or was skipped): the joblog, the
// report, the failure summary and the exit status are all made from these.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace cohort_run {

enum class job_status { succeeded, failed, timed_out, cancelled, skipped };

inline const char* name_of(job_status s) {
  switch (s) {
    case job_status::succeeded:
      return "succeeded";
    case job_status::failed:
      return "failed";
    case job_status::timed_out:
      return "timed_out";
    case job_status::cancelled:
      return "cancelled";
    case job_status::skipped:
      return "skipped";
  }
  return "?";
}

struct job_record {
  std::size_t seq = 0;
  std::vector<std::string> input;
  std::string command;
  job_status status = job_status::skipped;
  int exit_code = -1;  // -1: a signal ended it (or it never ran)
  int signal = 0;
  std::chrono::system_clock::time_point start{};
  std::chrono::nanoseconds runtime{}, user_cpu{}, system_cpu{};
  long max_rss_kb = 0;
  std::size_t attempts = 0;
  std::size_t stdout_bytes = 0;
  std::string last_stderr_line;
};

}  // namespace cohort_run
