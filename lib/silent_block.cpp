// SPDX-License-Identifier: Apache-2.0
#include "silent_block.hpp"

#include <cstdlib>
#include <cstring>

#include "observe/activity.hpp"
#include "pool.hpp"
#include "worker.hpp"

#if defined(__linux__)
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#endif

#include <cstdio>
#include <string>

namespace cohort::detail {

bool silent_block_guard::enabled_by_environment() noexcept {
  const char* v = std::getenv("COHORT_SILENT_BLOCK_GUARD");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

silent_block_guard::silent_block_guard(pool& p)
    : pool_(p), samples_(p.capacity()), presumed_(p.capacity()), schedstat_(p.capacity(), -1) {
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
#if defined(__linux__)
  for (const int fd : schedstat_)
    if (fd >= 0) ::close(fd);
#endif
}

bool silent_block_guard::awake_ns(std::size_t i, worker& w, std::int64_t& awake,
                                  bool& precise) noexcept {
#if defined(__linux__)
  // /proc/self/task/<tid>/schedstat: "<ns on a CPU> <ns runnable, waiting for one> <runs>".
  // Their sum is the time the thread wanted a CPU; the rest it slept. A preempted thread
  // waits on a run queue, not in a sleep, so oversubscription does not look like a block.
  int& fd = schedstat_[i];
  if (fd == -1) {
    const int tid = w.os_thread_id();
    if (tid == 0) return false;  // still starting
    try {
      const std::string path = "/proc/self/task/" + std::to_string(tid) + "/schedstat";
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } catch (...) {  // out of memory for the path: the CPU clock will do
      fd = -1;
    }
    if (fd < 0) fd = -2;  // not available (no CONFIG_SCHED_INFO): use the CPU clock
  }
  if (fd >= 0) {
    char buf[96];
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    long long on_cpu = 0, waiting = 0;
    if (n > 0) {
      buf[n] = '\0';
      if (std::sscanf(buf, "%lld %lld", &on_cpu, &waiting) == 2) {
        awake = on_cpu + waiting;
        precise = true;
        return true;
      }
    }
  }
#endif
  precise = false;
  return w.cpu_time_ns(awake);
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
    bool precise = false;
    if (w == nullptr || w->block_state.load(std::memory_order_relaxed) != worker::block_presumed ||
        !awake_ns(i, *w, cpu, precise)) {
      s.valid = false;
      continue;
    }
    // Awake (computing, or waiting for a CPU) for half the window: it runs again.
    if (s.valid && s.precise == precise && now > s.wall_ns &&
        (cpu - s.cpu_ns) * 2 > now - s.wall_ns) {
      w->unpresume_blocked();
      s.valid = false;
      continue;
    }
    s = {now, cpu, 0, 0, true, precise};
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
    bool precise = false;
    // relaxed reads throughout: a stale one delays a decision by a tick, and
    // presume_blocked checks again after its barrier.
    if (w == nullptr || w->block_state.load(std::memory_order_relaxed) == worker::block_presumed)
      continue;  // handled above
    if (!w->activity.busy() || w->activity.parked.load(std::memory_order_relaxed) ||
        w->block_state.load(std::memory_order_relaxed) != worker::block_none ||
        !awake_ns(i, *w, cpu, precise)) {
      s.valid = false;
      continue;
    }
    const std::uint64_t tasks = w->counters.tasks_run.load(std::memory_order_relaxed);
    // Asleep for more than half of the window (schedstat); with only the CPU clock, on a
    // CPU for less than a tenth of it (a preempted thread is off the CPU too).
    const std::int64_t wall = now - s.wall_ns;
    const std::int64_t used = cpu - s.cpu_ns;
    const bool off_cpu = s.valid && s.precise == precise && s.tasks_run == tasks && wall > 0 &&
                         (precise ? used * 2 < wall : used * 10 < wall);
    const unsigned stalled = off_cpu ? s.stalled + 1 : 0;
    s = {now, cpu, tasks, stalled, true, precise};
    if (stalled >= stalled_windows && w->presume_blocked(tasks)) {
      // One per tick: the next one sees whether the pool still starves. The loop above
      // now watches for the thread using the CPU again.
      s.valid = false;
      presumed_[i] = {now, cpu, 0, 0, true, precise};
      break;
    }
  }
  return look::starving;
}

}  // namespace cohort::detail
