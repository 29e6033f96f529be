// SPDX-License-Identifier: Apache-2.0
// The parking protocol: who sleeps, whom a new job wakes, and who takes the place of a
// worker that blocks.
//
// Every thread of the pool (the `limit` workers the user asked for, plus spare threads
// started on demand) is in one of four states: running a job, searching (idle, looking
// for work in a bounded spin), sleeping (idle, parked on its own futex word), or blocked
// (inside a task that waits for something and has nothing it may run, or inside
// cohort::blocking()). One atomic word packs how many threads are in each state, so every
// decision below reads one consistent snapshot:
//
//   active = threads - sleeping - blocked      (running or searching)
//
// The pool keeps `active` at `limit` when there is work: a new job wakes a sleeper only
// if nobody is searching (a searcher will find it) and active < limit; a worker that
// blocks lowers `active`, so the next job (or the stranded jobs it leaves on its own
// deque) wakes a sleeper, or starts a spare thread when nobody sleeps. This is Java's
// ForkJoinPool compensation: a blocked worker costs no parallelism and strands no job.
// A thread that finds active > limit between two top-level jobs goes to sleep (retires),
// so compensation never leaves more than `limit` threads running for long.
//
// Why no wake-up is lost (the Dekker argument, after Eigen's EventCount). Publishing a
// job and going to sleep are two store-then-load sequences on different words:
//   publisher: store the job (deque bottom / queue size)  ->  barrier  ->  load counters
//   sleeper:   RMW counters (sleeping or blocked + 1)      ->  barrier  ->  look for jobs
// With a full barrier on both sides, either the publisher's load sees the sleeper (and
// wakes somebody), or the sleeper's look sees the job. The publisher's side runs on every
// spawn, the sleeper's only before a futex wait, so the barrier is asymmetric where the
// kernel allows it: sleepers call membarrier(PRIVATE_EXPEDITED), which runs a full
// barrier on every thread of the process that is running at that moment, and publishers
// need only a compiler barrier. Without membarrier (old kernel, ThreadSanitizer, or
// COHORT_PUSH_FENCE=1), both sides use a seq_cst fence. (The old rule, "a lost wake-up of
// a local push costs parallelism, never progress", was wrong once user code blocks
// outside cohort right after a spawn.)
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace cohort::detail {

class sleep_module {
 public:
  // `limit`: the worker count asked for; `capacity`: the most threads there may ever be.
  // `spawn_spare(ctx, index)` starts thread `index` (which begins searching); false if it
  // could not.
  sleep_module(std::size_t limit, std::size_t capacity, bool (*spawn_spare)(void*, std::size_t),
               void* ctx);

  std::size_t limit() const noexcept { return limit_; }
  // Threads started so far (primaries first, then spares).
  std::size_t threads() const noexcept {
    return field(counters_.load(std::memory_order_acquire), threads_shift);
  }

  // ---- the idle side --------------------------------------------------------------
  // A worker that found no work and starts spinning.
  void begin_search() noexcept { counters_.fetch_add(one_searching, std::memory_order_relaxed); }
  // A searching worker that found work. If it was the last searcher, wakes another in
  // case more work is queued behind this one.
  void end_search() noexcept;
  // Worker i (searching) wants to sleep. Returns the generation to sleep on; the caller
  // must then call barrier_before_last_look() and look for work once more.
  std::uint32_t announce_sleep(std::size_t i) noexcept;
  // Sleeps until woken (or timeout), unless already woken since announce_sleep.
  void sleep(std::size_t i, std::uint32_t generation, std::chrono::nanoseconds timeout) noexcept;
  // Leaves the sleeping state (woken or not); the worker is searching again.
  void after_sleep(std::size_t i) noexcept;
  // True when more threads are active than the limit: the caller should retire (sleep)
  // at its next chance. A hint: relaxed.
  bool over_limit() const noexcept {
    return active(counters_.load(std::memory_order_relaxed)) > limit_;
  }

  // ---- the blocked side -----------------------------------------------------------
  // The calling worker blocks (a wait with nothing to run, or cohort::blocking()).
  // `searching`: it was counted as searching. After this the caller must call
  // barrier_before_last_look() and then compensate(work_visible).
  void block(bool searching) noexcept;
  // If the pool has work and fewer than `limit` active threads, wakes or starts one.
  void compensate(bool work_visible) noexcept;
  void unblock() noexcept {
    counters_.fetch_sub(one_blocked, std::memory_order_acq_rel);
    note_active();
  }

  // The sleeper's or blocker's half of the Dekker pair (see the top of this file).
  void barrier_before_last_look() noexcept;

  // ---- the steps, in the order the Dekker argument needs ------------------------------
  // An idle (searching) thread i goes to sleep: announce, barrier, one last look
  // (`work_visible()`, true when any deque or the injection queue holds a job), then
  // sleep unless it saw work; `while_asleep(sleep_now)` wraps the sleep (counters, traces) and
  // must call sleep_now() once. Returns searching again, woken or not.
  template <class WorkVisible, class Asleep>
  void park(std::size_t i, WorkVisible&& work_visible, Asleep&& while_asleep) {
    const std::uint32_t generation = announce_sleep(i);  // searching -> sleeping
    barrier_before_last_look();
    if (!work_visible()) while_asleep([&] { sleep(i, generation, std::chrono::nanoseconds(-1)); });
    after_sleep(i);  // sleeping -> searching
  }
  // A running thread blocks (a wait with nothing to run, or cohort::blocking()): counted
  // as blocked, barrier, then a last look decides whether another thread must take its
  // place. unblock() ends it. `counted_already`: the silent-block guard counted this
  // thread as blocked before it got here (silent_block.hpp); that count becomes its own.
  template <class WorkVisible>
  void block_and_compensate(WorkVisible&& work_visible, bool counted_already = false) noexcept {
    if (!counted_already) block(false);
    barrier_before_last_look();
    compensate(work_visible());
  }

  // ---- the waking side ------------------------------------------------------------
  // A job was pushed on a worker's own deque (after the push).
  void notify_local_job() noexcept {
    publisher_barrier();
    maybe_wake(counters_.load(std::memory_order_relaxed));
  }
  // A job was published from outside the pool (after its seq_cst publication).
  void notify_injected_job() noexcept {
    // seq_cst load after the seq_cst store of the queue size: the same order as a fence
    // (both are in the single total order), paired with the sleeper's barrier.
    maybe_wake(counters_.load(std::memory_order_seq_cst));
  }
  // Wakes worker i if it sleeps (a deadline passed).
  void wake(std::size_t i) noexcept;
  void wake_all() noexcept;

  // The cheap half of an asymmetric Dekker pair whose other half is
  // barrier_before_last_look() (membarrier): a compiler barrier where membarrier exists,
  // else a seq_cst fence. The silent-block guard's re-check pairs with a worker's use.
  void light_barrier() noexcept { publisher_barrier(); }

  // ---- the silent-block guard's rest (silent_block.hpp) ------------------------------
  // With no thread active, no thread can be blocked silently: the guard rests on a word
  // of its own until a thread becomes active (a wake-up, an unblock, a spare: each calls
  // note_active) or `timeout` passes.
  void monitor_rest(std::chrono::nanoseconds timeout) noexcept;
  void wake_monitor() noexcept;

  // Nobody searches and at least `limit` threads are active: a new job wakes nobody.
  // A snapshot (relaxed): the silent-block guard's question, asked every few ms.
  bool saturated() const noexcept {
    const std::uint64_t c = counters_.load(std::memory_order_relaxed);
    return field(c, searching_shift) == 0 && active(c) >= limit_;
  }

  std::size_t active_now() const noexcept {
    return active(counters_.load(std::memory_order_relaxed));
  }
  std::size_t sleeping_now() const noexcept {
    return field(counters_.load(std::memory_order_relaxed), sleeping_shift);
  }
  std::size_t blocked_now() const noexcept {
    return field(counters_.load(std::memory_order_relaxed), blocked_shift);
  }

 private:
  // Four 16-bit counts in one word.
  static constexpr unsigned sleeping_shift = 0, searching_shift = 16, blocked_shift = 32,
                            threads_shift = 48;
  static constexpr std::uint64_t one_sleeping = std::uint64_t{1} << sleeping_shift;
  static constexpr std::uint64_t one_searching = std::uint64_t{1} << searching_shift;
  static constexpr std::uint64_t one_blocked = std::uint64_t{1} << blocked_shift;
  static constexpr std::uint64_t one_thread = std::uint64_t{1} << threads_shift;
  static std::size_t field(std::uint64_t c, unsigned shift) noexcept {
    return static_cast<std::size_t>((c >> shift) & 0xffffu);
  }
  // Clamped at 0: a thread may be counted both blocked (by the silent-block guard, which
  // counts before it knows) and sleeping or blocked on its own for a moment; a wrapped
  // unsigned value would read as "far over the limit" and wake nobody.
  static std::size_t active(std::uint64_t c) noexcept {
    const std::size_t idle = field(c, sleeping_shift) + field(c, blocked_shift);
    const std::size_t threads = field(c, threads_shift);
    return threads > idle ? threads - idle : 0;
  }
  bool wants_another(std::uint64_t c) const noexcept {
    return field(c, searching_shift) == 0 && active(c) < limit_;
  }

  // Inline: every push on a worker's own deque pays it.
  void publisher_barrier() noexcept {
    if (asymmetric_) {
      // The sleeper's membarrier stands in for our half: only the compiler must keep the
      // job's publication before the counters load.
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      // StoreLoad: the job's publication (deque bottom) before the counters load.
      // Partner: the fence in barrier_before_last_look().
      std::atomic_thread_fence(std::memory_order_seq_cst);
    }
  }
  void maybe_wake(std::uint64_t c) noexcept {
    if (wants_another(c)) wake_or_spawn();
  }
  void wake_or_spawn() noexcept;
  // A thread became active: wakes the resting guard. Off the hot paths (after a futex
  // wake, an unblock, a spare's start).
  void note_active() noexcept {
    // StoreLoad: our counters RMW before the load of the flag. Partner: the seq_cst
    // store and load in monitor_rest (either it sees us active, or we see it resting).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (monitor_resting_.load(std::memory_order_relaxed) != 0) wake_monitor();
  }
  bool claim(std::size_t i) noexcept;
  bool wake_any() noexcept;

  enum : std::uint32_t { awake = 0, asleep = 1 };
  struct alignas(64) slot {
    std::atomic<std::uint32_t> state{awake};   // CAS asleep->awake claims the wake-up
    std::atomic<std::uint32_t> generation{0};  // the futex word; bumped by each wake
  };

  std::size_t limit_;
  std::size_t capacity_;
  bool (*spawn_spare_)(void*, std::size_t);
  void* ctx_;
  bool asymmetric_;  // membarrier available: publishers need only a compiler barrier
  std::unique_ptr<slot[]> slots_;
  alignas(64) std::atomic<std::uint64_t> counters_{0};
  alignas(64) std::atomic<std::size_t> next_victim_{0};  // rotates who gets woken
  std::atomic<std::uint32_t> monitor_resting_{0};        // the guard's futex word
};

}  // namespace cohort::detail
