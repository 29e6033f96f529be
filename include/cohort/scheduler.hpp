// SPDX-License-Identifier: Apache-2.0
// scheduler: a pool of worker threads, each with its own work-stealing deque.
//
// Requirements: workers in [1, 4096] (0 means std::thread::hardware_concurrency()).
// Guarantees: the destructor waits for every detached task, then stops the workers.
// Tasks in groups are owned by their groups, which must end before their scheduler.
// Example:
//   cohort::scheduler pool({.workers = 8, .name = "render"});
//   pool.spawn_detached([] { flush_logs(); }, {.name = "flush"});
// Thread safety: every member may be called from any thread.
#pragma once

#include <cohort/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cohort/detail/child.hpp>
#include <cohort/detail/runtime.hpp>
#include <cohort/options.hpp>

namespace cohort {

/// Counters of one worker, or their sum. A snapshot, not a consistent cut.
struct worker_stats {
  std::uint64_t tasks_run = 0;              ///< jobs executed (children, gather children, detached)
  std::uint64_t tasks_spawned = 0;          ///< pushed on this worker's own deque
  std::uint64_t tasks_stolen = 0;           ///< taken from another worker's deque
  std::uint64_t steal_attempts_failed = 0;  ///< steals that found nothing or lost a race
  std::uint64_t injected_taken = 0;         ///< taken from the injection queue
  std::uint64_t parks = 0;                  ///< times the worker went to sleep
  /// Futile wake-ups: times the worker, woken from a park, went back to sleep without
  /// having run a job. A sign of over-eager waking (each costs a futex round trip and a
  /// search); a steady share of `parks` means wakers pick threads that find nothing.
  std::uint64_t futile_wakeups = 0;
  std::chrono::nanoseconds time_parked{0};  ///< time asleep (needs timing: enable_timing())
};

/// What stats() returns: counters per worker and in total (COHORT_COUNTERS=ON builds;
/// else zeros). Read with relaxed loads while the workers run: a snapshot, not a cut.
struct scheduler_stats {
  std::vector<worker_stats> workers;  ///< one entry per worker, in worker order
  worker_stats total;                 ///< the sum, spare threads and `outside` included
  /// What threads outside the pool did in their slots (a spawn from outside goes on the
  /// spawning thread's own deque; its join runs what workers did not steal from there):
  /// the jobs they spawned and ran there. Also in `total`.
  worker_stats outside;
  /// Jobs submitted from outside the pool: onto outside threads' own deques, or into the
  /// injection queue (`total.injected_taken` counts only those).
  std::uint64_t injected = 0;
  std::uint64_t tasks_cancelled = 0;   ///< children skipped or ended as cancelled
  std::uint64_t detached_pending = 0;  ///< detached tasks not finished yet
  /// Threads started beyond `workers` to take the places of workers blocked in a wait or
  /// in cohort::blocking() (they park when not needed); their counters are in `total`.
  std::uint64_t spare_threads = 0;
  /// Times a worker was found blocked outside cohort (sleeping, reading, waiting on a lock
  /// inside a task, with no cohort::blocking() around it) while queued work waited, and
  /// was counted as blocked so that another thread took its place (the silent-block
  /// guard). Non-zero usually means some task blocks without saying so: wrap that call
  /// in cohort::blocking().
  std::uint64_t silent_blocks = 0;
};

/// Receives an exception nobody else will see, and the name of its task (or group).
using unhandled_exception_handler = std::function<void(std::exception_ptr, std::string_view)>;

/// A pool of worker threads, each with its own work-stealing deque: where tasks run.
///
/// Requirements: workers in [1, 4096] (0: one per hardware thread); every task_group
/// and gather using it ends before it is destroyed.
/// Guarantees: the destructor waits for every detached task, then stops the workers;
/// nothing spawned is lost. A task spawned from a worker goes on that worker's deque
/// (LIFO for it, FIFO for thieves); from a thread outside the pool it goes on a deque of
/// that thread's own in the pool (workers steal from it, and the thread's join runs what
/// is left there), or, with 64 outside threads holding one already, through the
/// injection queue.
/// Thread safety: every member may be called from any thread, tasks included.
/// Memory ordering: everything a task's spawner did before spawn() happens before the
/// task runs; everything the task did happens before join()/wait()/get() return.
///
/// Example:
/// @code
/// cohort::scheduler pool({.workers = 8, .name = "render"});
/// pool.spawn_detached([] { flush_logs(); }, {.name = "flush"});
/// int n = cohort::scope(pool, [](cohort::task_group& g) {
///   auto a = g.spawn([] { return 20; });
///   auto b = g.spawn([] { return 22; });
///   g.join();
///   return a.get() + b.get();
/// });
/// @endcode
class COHORT_EXPORT scheduler {
 public:
  /// Starts the workers. Throws std::invalid_argument for an absurd worker count.
  explicit scheduler(scheduler_options options = {});
  /// Waits for the detached tasks, writes the COHORT_TRACE file if asked, stops the
  /// workers. Must not run inside one of its own tasks.
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  /// The number of workers (spare threads not counted).
  std::size_t workers() const noexcept;

  /// Runs f() or f(std::stop_token) owned by the scheduler: never lost, waited for by the
  /// destructor; a failure goes to the unhandled-exception handler with the task's name.
  template <class F>
  void spawn_detached(F&& f, task_options options = {}) {
    detail::group_core& root = detached_group();
    auto* c = detail::make_child(root, std::forward<F>(f), std::move(options.name), false);
    if (options.timeout) root.arm_child_timeout(c, *options.timeout);
    root.submit(c);
  }

  /// Receives failures of detached tasks and of groups destroyed without join. Default:
  /// one line on stderr. Called on the thread where the failure was found.
  void set_unhandled_exception_handler(unhandled_exception_handler handler);

  /// Counters since construction; see scheduler_stats.
  scheduler_stats stats() const;
  /// Live groups and tasks as a tree: names, states, ages, who waits on whom. Ages need
  /// timing, which tracing and the watchdog turn on (or enable_timing()).
  std::string dump() const;

  /// Tracing (also: environment COHORT_TRACE=path, written when the scheduler stops).
  /// Records task begin/end, steals and parks per worker; off, it costs one branch per job.
  void start_tracing();
  /// Stops recording; what was recorded stays for write_trace().
  void stop_tracing();
  /// Writes what was recorded as Chrome trace-event JSON (Perfetto opens it).
  bool write_trace(const std::string& path) const;

  /// Hang watchdog (also: COHORT_WATCHDOG=5s): when somebody waits but no task started or
  /// finished for `stall`, prints dump() to stderr once. Zero turns it off.
  void set_watchdog(std::chrono::nanoseconds stall);
  /// Long-task report (also: COHORT_LONG_TASK=30s): prints one line to stderr for each
  /// task that has been running for longer than `threshold` (its name, group, worker and
  /// age), even while other work flows. Zero turns it off.
  void set_long_task_report(std::chrono::nanoseconds threshold);
  /// Stamps each task's start so dump() can show ages (a clock read per task).
  void enable_timing(bool on = true);

 private:
  friend struct detail::lib_access;  // lib/'s access to the pool (lib/lib_access.hpp)
  detail::group_core& detached_group() noexcept;
  std::unique_ptr<detail::pool> pool_;
};

/// Created on first use with hardware_concurrency() workers; lives until exit.
COHORT_EXPORT scheduler& default_scheduler();

/// Gives back to the system allocator the children's blocks that cohort keeps for reuse:
/// the process-wide reserve (up to 64 MiB, filled by bursts of spawns) and the calling
/// thread's own free lists. Blocks in other threads' free lists (a few hundred each) and
/// blocks of live children are untouched. For a program that is done with a burst of
/// 10^5+ spawns and wants the memory back; the next burst allocates afresh.
COHORT_EXPORT void release_cached_memory() noexcept;

}  // namespace cohort
