// SPDX-License-Identifier: Apache-2.0
#include "silent_block.hpp"

#include <cstdlib>
#include <cstring>

#include "observe/activity.hpp"
#include "pool.hpp"
#include "worker.hpp"

#if defined(__linux__)
#include <pthread.h>
#endif

namespace cohort::detail {

bool silent_block_guard::enabled_by_environment() noexcept {
  const char* v = std::getenv("COHORT_SILENT_BLOCK_GUARD");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

silent_block_guard::silent_block_guard(pool& p)
    : pool_(p), samples_(p.capacity()), presumed_(p.capacity()) {
  thread_ = std::thread([this] { main(); });
}

silent_block_guard::~silent_block_guard() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  pool_.sleep().wake_monitor();
  thread_.join();
}

void silent_block_guard::main() {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "cohort-guard");
#endif
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    const look l = tick();
    if (l == look::idle) pool_.sleep().monitor_rest(rest_limit);
    lock.lock();
    if (l != look::idle)
      wake_.wait_for(lock, l == look::starving ? fast_period : slow_period,
                     [this] { return stop_; });
  }
}

silent_block_guard::look silent_block_guard::tick() {
  sleep_module& sleep = pool_.sleep();
  const std::size_t n = pool_.thread_count();
  const std::int64_t now = steady_now_ns();
  // Threads the guard counted as blocked that use the CPU again (they came back inside
  // the same job and compute): give the count back, so the pool is not over its limit
  // until their job ends.
  bool any_presumed = false;
  for (std::size_t i = 0; i < n; ++i) {
    worker* w = pool_.worker_if_started(i);
    sample& s = presumed_[i];
    std::int64_t cpu = 0;
    if (w == nullptr || w->block_state.load(std::memory_order_relaxed) != worker::block_presumed ||
        !w->cpu_time_ns(cpu)) {
      s.valid = false;
      continue;
    }
    if (s.valid && now > s.wall_ns && (cpu - s.cpu_ns) * 2 > now - s.wall_ns) {
      w->unpresume_blocked();
      s.valid = false;
      continue;
    }
    s = {now, cpu, 0, 0, true};
    any_presumed = true;
  }
  if (!sleep.saturated()) {
    for (sample& s : samples_) s.valid = false;
    // No thread active (and none the guard counted, which it watches): none can block
    // silently; rest until one becomes active.
    return sleep.active_now() == 0 && !any_presumed ? look::idle : look::flowing;
  }
  // Work that an active thread will take soon is no starvation either: look only when
  // some job is queued where nobody takes it.
  if (!pool_.work_visible()) {
    for (sample& s : samples_) s.valid = false;
    return look::flowing;
  }
  for (std::size_t i = 0; i < n; ++i) {
    sample& s = samples_[i];
    worker* w = pool_.worker_if_started(i);
    std::int64_t cpu = 0;
    // relaxed reads throughout: a stale one delays a decision by a tick, and
    // presume_blocked checks again after its barrier.
    if (w == nullptr || w->block_state.load(std::memory_order_relaxed) == worker::block_presumed)
      continue;  // handled above
    if (!w->activity.busy() || w->activity.parked.load(std::memory_order_relaxed) ||
        w->block_state.load(std::memory_order_relaxed) != worker::block_none ||
        !w->cpu_time_ns(cpu)) {
      s.valid = false;
      continue;
    }
    const std::uint64_t tasks = w->counters.tasks_run.load(std::memory_order_relaxed);
    const bool off_cpu = s.valid && s.tasks_run == tasks && now > s.wall_ns &&
                         (cpu - s.cpu_ns) * 10 < now - s.wall_ns;
    const unsigned stalled = off_cpu ? s.stalled + 1 : 0;
    s = {now, cpu, tasks, stalled, true};
    if (stalled >= stalled_windows && w->presume_blocked(tasks)) {
      // One per tick: the next one sees whether the pool still starves. The loop above
      // now watches for the thread using the CPU again.
      s.valid = false;
      presumed_[i] = {now, cpu, 0, 0, true};
      break;
    }
  }
  return look::starving;
}

}  // namespace cohort::detail
