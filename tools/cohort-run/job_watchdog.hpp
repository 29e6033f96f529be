// SPDX-License-Identifier: Apache-2.0
// COHORT_WATCHDOG=D: when no job finished for D while jobs run, prints the running jobs
// (slot, sequence number, pid, age, command, last output line) to stderr; again after
// each further D without progress.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "running_jobs.hpp"

namespace cohort_run {

class job_watchdog {
 public:
  job_watchdog(const running_jobs& jobs, std::chrono::nanoseconds stall);
  ~job_watchdog();
  job_watchdog(const job_watchdog&) = delete;
  job_watchdog& operator=(const job_watchdog&) = delete;
  void job_finished() noexcept;

 private:
  void watch();
  const running_jobs& jobs_;
  std::chrono::nanoseconds stall_;
  // Written by job threads, read by the watchdog; relaxed: a stale value only delays or
  // advances one report by a poll period, nothing else depends on it.
  std::atomic<std::chrono::steady_clock::rep> last_progress_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cohort_run
