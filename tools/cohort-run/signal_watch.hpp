// SPDX-License-Identifier: Apache-2.0
// Ctrl-C, SIGTERM and SIGHUP: blocked in every thread (construct this before any thread
// starts, so the scheduler's workers inherit the mask) and taken by one thread with
// sigwait, which calls `on_signal` (kill the running jobs, start no more). Jobs get the
// default dispositions back (posix_spawn resets them). SIGPIPE is ignored: a closed
// stdout must not kill cohort-run before it has reaped its jobs.
#pragma once

#include <pthread.h>

#include <functional>
#include <thread>

namespace cohort_run {

class signal_watch {
 public:
  explicit signal_watch(std::function<void(int)> on_signal);
  ~signal_watch();
  signal_watch(const signal_watch&) = delete;
  signal_watch& operator=(const signal_watch&) = delete;

 private:
  std::function<void(int)> on_signal_;
  std::thread thread_;
};

}  // namespace cohort_run
