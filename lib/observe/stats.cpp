// SPDX-License-Identifier: Apache-2.0
#include "observe/stats.hpp"

#include "pool.hpp"

namespace cohort::detail {

scheduler_stats collect_stats(pool& p) {
  scheduler_stats s;
  std::size_t i = 0;
  p.for_each_worker([&](worker& wk) {
    const worker_counters& c = wk.counters;
    worker_stats w;
    w.tasks_run = c.tasks_run.load(std::memory_order_relaxed);
    w.tasks_spawned = c.spawned.load(std::memory_order_relaxed);
    w.tasks_stolen = c.stolen.load(std::memory_order_relaxed);
    w.steal_attempts_failed = c.steal_failures.load(std::memory_order_relaxed);
    w.injected_taken = c.injected_taken.load(std::memory_order_relaxed);
    w.parks = c.parks.load(std::memory_order_relaxed);
    w.futile_wakeups = c.futile_wakeups.load(std::memory_order_relaxed);
    w.time_parked = std::chrono::nanoseconds(c.parked_ns.load(std::memory_order_relaxed));
    s.total.tasks_run += w.tasks_run;
    s.total.tasks_spawned += w.tasks_spawned;
    s.total.tasks_stolen += w.tasks_stolen;
    s.total.steal_attempts_failed += w.steal_attempts_failed;
    s.total.injected_taken += w.injected_taken;
    s.total.parks += w.parks;
    s.total.futile_wakeups += w.futile_wakeups;
    s.total.time_parked += w.time_parked;
    s.silent_blocks += c.presumed_blocked.load(std::memory_order_relaxed);
    // Spares (threads that stood in for blocked workers) count in the total only; outside
    // threads' slots in the total and in `outside`.
    if (wk.outside()) {
      s.injected += c.submitted_from_outside.load(std::memory_order_relaxed);
      s.outside.tasks_run += w.tasks_run;
      s.outside.tasks_spawned += w.tasks_spawned;
      s.outside.tasks_stolen += w.tasks_stolen;
    } else if (i++ < p.size()) {
      s.workers.push_back(w);
    }
  });
  s.spare_threads = p.thread_count() - p.size();
  s.injected += p.injected_count.load(std::memory_order_relaxed);
  s.tasks_cancelled = p.cancelled_count.load(std::memory_order_relaxed);
  s.detached_pending = p.detached().unfinished();
  return s;
}

}  // namespace cohort::detail
