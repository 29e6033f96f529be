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

silent_block_guard::silent_block_guard(pool& p) : pool_(p), samples_(p.capacity()) {
  thread_ = std::thread([this] { main(); });
}

silent_block_guard::~silent_block_guard() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void silent_block_guard::main() {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "cohort-guard");
#endif
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    const bool hot = tick();
    lock.lock();
    wake_.wait_for(lock, hot ? fast_period : slow_period, [this] { return stop_; });
  }
}

bool silent_block_guard::tick() {
  // Work that an active thread will take, or a searcher or a sleeper the sleep module can
  // still wake: nothing starves, whatever the busy threads do.
  if (!pool_.sleep().saturated() || !pool_.work_visible()) {
    for (sample& s : samples_) s.valid = false;
    return false;
  }
  const std::int64_t now = steady_now_ns();
  const std::size_t n = pool_.thread_count();
  for (std::size_t i = 0; i < n; ++i) {
    sample& s = samples_[i];
    worker* w = pool_.worker_if_started(i);
    std::int64_t cpu = 0;
    // relaxed reads throughout: a stale one delays a decision by a tick, and the decision
    // itself is made by presume_blocked's own RMWs.
    if (w == nullptr || !w->activity.busy() || w->activity.parked.load(std::memory_order_relaxed) ||
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
    if (stalled >= stalled_windows && w->presume_blocked()) {
      // One per tick: the next one sees whether the pool still starves.
      s.valid = false;
      break;
    }
  }
  return true;
}

}  // namespace cohort::detail
