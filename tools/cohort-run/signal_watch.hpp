// SPDX-License-Identifier: Apache-2.0
// Ctrl-C, SIGTERM and SIGHUP: blocked in every thread (construct this before any thread
// starts, so the scheduler's workers inherit the mask) and taken by one thread with
// sigwait, which calls `on_signal` (kill the running jobs, start no more). Jobs get the
// default dispositions back (posix_spawn resets them). SIGPIPE is ignored: a closed
// stdout must not kill cohort-run before it has reaped its jobs.
#pragma once

#include <pthread.h>

#include <functional>
#include <mutex>
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

// Where a signal goes: the batch running now, or, before it exists, held for it. Both
// runners (runner.cpp, mpi_runner.cpp) build their batch after the watch has started.
template <class Batch>
class signal_target {
 public:
  // On the signal thread.
  void deliver(int sig) {
    std::lock_guard lock(mutex_);
    if (running_ != nullptr)
      running_->on_signal(sig);
    else if (early_ == 0)
      early_ = sig;
  }
  // Points signals at `b` (passing on one that came before) until the result dies, which
  // must be before b does.
  [[nodiscard]] auto attach(Batch& b) {
    std::lock_guard lock(mutex_);
    running_ = &b;
    if (early_ != 0) b.on_signal(early_);
    struct detach {
      signal_target* target;
      ~detach() {
        std::lock_guard lock(target->mutex_);
        target->running_ = nullptr;
      }
    };
    return detach{this};
  }

 private:
  std::mutex mutex_;
  Batch* running_ = nullptr;  // guarded by mutex_
  int early_ = 0;             // guarded by mutex_
};

}  // namespace cohort_run
