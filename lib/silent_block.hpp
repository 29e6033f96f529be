// SPDX-License-Identifier: Apache-2.0
// The silent-block guard: finds pool threads blocked outside cohort without saying so
// (a task sleeping, reading a pipe or waiting on a condition variable, with no
// cohort::blocking() around it) while work waits that nobody takes, and counts them as
// blocked so that a sleeper or a spare thread takes their place.
//
// Why it exists. The sleep module (sleep.hpp) keeps `limit` threads active while there is
// work, and a worker that blocks *in cohort* (a wait, cohort::blocking()) is replaced.
// A worker that blocks in the kernel on its own still counts as active, so the pool looks
// full and the job it waits for may sit in a queue that no active thread will reach: the
// first hang of the known kind was a sibling handed to the injection queue by another
// thread's wait while the only counted thread was blocked on it this way
// (lib/README.md, "Deadlock freedom"). Java's ForkJoinPool needs a ManagedBlocker for the
// same reason; Go's runtime has sysmon, which retakes the processor of a thread stuck in
// a system call. This is cohort's sysmon, for the pool's threads.
//
// How it decides. Every `fast_period` while the pool is saturated (nobody searches,
// `limit` or more threads active) and a job is visible in some deque or the injection
// queue, it reads the CPU-time clock of each thread that is inside a job, not parked and
// not already counted as blocked. A thread whose CPU time grew by less than a tenth of
// the wall time in `stalled_windows` windows in a row, with no job started in between,
// is off the CPU: blocked, not computing. One such thread per tick is counted blocked
// (worker::presume_blocked), which lets the sleep module wake or start a thread for the
// waiting work. The thread takes the count back itself at its next step in cohort (the
// end of its job, or a wait of its own, which keeps the count: worker.hpp, block_state);
// a pool briefly over its limit retires the extra thread at its next idle moment.
//
// What it costs. One thread per scheduler that wakes every `slow_period` while the pool
// is idle or flowing, and every `fast_period` while it is saturated with work waiting;
// a tick reads one word of the sleep module and, when saturated, each deque's two
// indices and one clock per busy thread. Nothing on the spawn, run or join paths.
// COHORT_SILENT_BLOCK_GUARD=0 turns it off (for measurements).
//
// What it cannot see: a thread that spins (it uses CPU), and a thread off the CPU because
// the machine is oversubscribed for a long stretch (it may be counted blocked while
// merely preempted: one extra thread runs until it comes back).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace cohort::detail {

class pool;

class silent_block_guard {
 public:
  static constexpr auto fast_period = std::chrono::milliseconds(10);
  static constexpr auto slow_period = std::chrono::milliseconds(100);
  static constexpr unsigned stalled_windows = 3;

  explicit silent_block_guard(pool& p);
  ~silent_block_guard();
  silent_block_guard(const silent_block_guard&) = delete;
  silent_block_guard& operator=(const silent_block_guard&) = delete;

  // Whether COHORT_SILENT_BLOCK_GUARD allows the guard (anything but "0").
  static bool enabled_by_environment() noexcept;

 private:
  // What the last tick saw of one pool thread.
  struct sample {
    std::int64_t wall_ns = 0;
    std::int64_t cpu_ns = 0;
    std::uint64_t tasks_run = 0;
    unsigned stalled = 0;  // windows in a row with the thread off the CPU
    bool valid = false;
  };
  void main();
  // One look; true when the pool was saturated with work waiting (look again soon).
  bool tick();

  pool& pool_;
  std::vector<sample> samples_;  // by thread index; this guard's thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace cohort::detail
