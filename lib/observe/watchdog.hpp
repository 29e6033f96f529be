// SPDX-License-Identifier: Apache-2.0
// The hang watchdog (opt-in): when somebody waits (a join, a get, a wait) but no task has
// started or been spawned for `stall`, print dump() to stderr, once per stall. And the
// long-task report (opt-in): a task running for longer than `long_task` is named on
// stderr once, even while other work flows (a stall only shows when everything stops).
//
// Progress is the sum of the workers' run and spawn counters, read with relaxed loads.
// A single task that computes for longer than `stall` while a join waits on it looks like
// a hang and is reported: the dump then shows which task it is and for how long it runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace cohort::detail {

class pool;

class watchdog {
 public:
  // Either duration may be zero (that check off).
  watchdog(pool& p, std::chrono::nanoseconds stall, std::chrono::nanoseconds long_task);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  void main();
  void report_long_tasks();

  pool& pool_;
  std::chrono::nanoseconds stall_;
  std::chrono::nanoseconds long_task_;
  std::vector<std::pair<const void*, std::int64_t>> reported_;  // (task, start): said once
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_
  std::thread thread_;
};

// Parses "5s", "250ms", "2.5" (seconds), "100us"; returns 0 on nonsense.
std::chrono::nanoseconds parse_duration(const char* text) noexcept;

}  // namespace cohort::detail
