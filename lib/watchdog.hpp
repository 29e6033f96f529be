// The hang watchdog (opt-in): when somebody waits (a join, a get, a wait) but no task has
// started or been spawned for `stall`, print dump() to stderr, once per stall.
//
// Progress is the sum of the workers' run and spawn counters, read with relaxed loads.
// A single task that computes for longer than `stall` while a join waits on it looks like
// a hang and is reported: the dump then shows which task it is and for how long it runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace cohort::detail {

class pool;

class watchdog {
 public:
  watchdog(pool& p, std::chrono::nanoseconds stall);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  void main();

  pool& pool_;
  std::chrono::nanoseconds stall_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_
  std::thread thread_;
};

// Parses "5s", "250ms", "2.5" (seconds), "100us"; returns 0 on nonsense.
std::chrono::nanoseconds parse_duration(const char* text) noexcept;

}  // namespace cohort::detail
