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
// queue, it reads, for each pool thread that is inside a job, not parked and not already
// counted as blocked, how long the thread has been *awake*: on a CPU or runnable and
// waiting for one (/proc/self/task/<tid>/schedstat, its first two fields). A thread
// asleep for more than half of each of `stalled_windows` windows in a row, with no job
// started in between, is blocked; a thread that a busy machine keeps off the CPU is
// waiting on a run queue, which counts as awake, so oversubscription does not look like
// a block. Without schedstat (a kernel without CONFIG_SCHED_INFO) it falls back to the
// thread's CPU-time clock and calls a thread blocked when it was on a CPU for less than a
// tenth of each window (then a thread preempted that long looks blocked too). One such
// thread per tick is counted blocked (worker::presume_blocked), which lets the sleep
// module wake or start a thread for the waiting work. So a silent block with work
// waiting is found 30 ms after the guard's first look at it, which comes within
// `slow_period` (or at once, when the pool was idle before: see below): 30 to 130 ms.
//
// Giving the count back. The thread takes it back at its next step in cohort's loop (the
// end of its job; a wait or cohort::blocking() of its own keeps it as its own count), and
// the guard takes it back when the thread uses the CPU again inside the same job (half
// the wall time of a window). A pool over its limit for that while retires the extra
// thread at its next idle moment. worker.hpp (block_state) says who owns the count when.
//
// Races. The guard looks with relaxed reads, then counts, then marks the thread
// (`presumed`), then checks again after the sleep module's full barrier (membarrier) that
// the thread is still inside the job it looked at; the thread's loop reads the mark after
// leaving each job, behind a compiler barrier: one of the two sees the other, so a thread
// that moved on is never left counted as blocked while idle or parked (which would make
// the pool wake nobody). The sleep module's `active` is clamped at 0 for the moment the
// guard's count and the thread's own overlap.
//
// What it costs. One thread per scheduler. While no pool thread is active it rests on a
// futex until one becomes active again (a wake-up, an unblock, a spare: sleep.hpp,
// note_active, which costs a fence on those slow paths); while threads are active it
// looks every `slow_period`, and every `fast_period` while the pool is saturated with
// work waiting. A look reads one word of the sleep module and, when saturated, each
// deque's two indices and one clock per busy thread. On the run path: one load after each
// top-level job, behind a compiler barrier (a fence where membarrier is missing).
// COHORT_SILENT_BLOCK_GUARD=0 turns it off (for measurements, and for tests that must
// see a hang the guard would end).
//
// What it cannot see: a thread that spins or yields in a loop (it is awake), and one
// that sleeps less than half the time (a poll loop that computes between short sleeps).
// Spares are capped (256 beyond `workers`, sleep.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace cohort::detail {

class pool;
class worker;

class silent_block_guard {
 public:
  static constexpr auto fast_period = std::chrono::milliseconds(10);
  static constexpr auto slow_period = std::chrono::milliseconds(100);
  static constexpr unsigned stalled_windows = 3;
  // The longest rest while no thread is active (a belt: note_active ends it).
  static constexpr auto rest_limit = std::chrono::seconds(5);

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
    bool precise = false;  // cpu_ns is schedstat's awake time, not the CPU clock's
  };
  // The time thread i (worker w) has been awake: on a CPU or waiting for one (schedstat,
  // `precise`), else only on a CPU (its CPU-time clock). False if neither can be read.
  bool awake_ns(std::size_t i, worker& w, std::int64_t& awake, bool& precise) noexcept;
  // What a look found: no thread active (rest until one is), threads active and no
  // work stranded (look again in slow_period), or work waiting on a saturated pool
  // (look again in fast_period).
  enum class look { idle, flowing, starving };
  void main();
  look tick();

  pool& pool_;
  std::vector<sample> samples_;   // by thread index, threads not counted by the guard
  std::vector<sample> presumed_;  // by thread index, threads the guard counted as blocked
  std::vector<int> schedstat_;    // by thread index: its schedstat file (-1 not yet, -2 none)
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace cohort::detail
