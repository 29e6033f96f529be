// SPDX-License-Identifier: Apache-2.0
#include "observe/watchdog.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "observe/blocked.hpp"
#include "observe/stats.hpp"
#include "pool.hpp"

namespace cohort::detail {
namespace {

std::uint64_t progress_of(pool& p) {
  std::uint64_t sum = 0;
  p.for_each_worker([&](worker& w) {
    const worker_counters& c = w.counters;
    sum += c.tasks_run.load(std::memory_order_relaxed) + c.spawned.load(std::memory_order_relaxed);
  });
  return sum + p.injected_count.load(std::memory_order_relaxed);
}

bool anybody_waits(pool& p) {
  if (blocked_thread_count() > 0) return true;
  bool waiting = false;
  p.for_each_worker([&](worker& w) { waiting = waiting || w.activity.waits(); });
  if (waiting) return true;
  bool joining = false;
  p.for_each_live_group([&](group_core& g) { joining = joining || g.joining(); });
  return joining;
}

}  // namespace

std::chrono::nanoseconds parse_duration(const char* text) noexcept {
  if (text == nullptr || *text == '\0') return std::chrono::nanoseconds(0);
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || v <= 0) return std::chrono::nanoseconds(0);
  double scale = 1e9;
  if (std::strcmp(end, "ms") == 0)
    scale = 1e6;
  else if (std::strcmp(end, "us") == 0)
    scale = 1e3;
  else if (std::strcmp(end, "ns") == 0)
    scale = 1;
  else if (std::strcmp(end, "min") == 0)
    scale = 60e9;
  else if (*end != '\0' && std::strcmp(end, "s") != 0)
    return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(v * scale));
}

watchdog::watchdog(pool& p, std::chrono::nanoseconds stall, std::chrono::nanoseconds long_task)
    : pool_(p), stall_(stall), long_task_(long_task), thread_([this] { main(); }) {}

void watchdog::report_long_tasks() {
  const std::int64_t now = steady_now_ns();
  std::vector<std::pair<const void*, std::int64_t>> still;
  pool_.for_each_worker([&](worker& w) {
    std::size_t hidden = 0;
    for (const activity_frame& f : w.activity.load_stack(hidden)) {
      if (f.kind != job_kind::child || f.since_ns == 0) continue;
      if (now - f.since_ns < long_task_.count()) continue;
      const std::pair<const void*, std::int64_t> id{f.task_key, f.since_ns};
      still.push_back(id);
      if (std::find(reported_.begin(), reported_.end(), id) != reported_.end()) continue;
      std::string group;
      pool_.for_each_live_group([&](group_core& g) {
        if (&g == f.group) group = g.name();
      });
      std::fprintf(stderr,
                   "cohort watchdog: task %s#%u of group %s has been running for %.1f s on "
                   "%s%s\n",
                   f.name.empty() ? "" : ("'" + f.name + "' ").c_str(), f.index,
                   group.empty() ? "(unnamed)" : ("'" + group + "'").c_str(),
                   static_cast<double>(now - f.since_ns) / 1e9, w.label().c_str(),
                   f.waiting_on != nullptr ? ", waiting inside it" : "");
    }
  });
  reported_ = std::move(still);  // forget tasks that ended
}

watchdog::~watchdog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void watchdog::main() {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "cohort-watch");
#endif
  using clock = std::chrono::steady_clock;
  auto tick = std::chrono::nanoseconds(std::chrono::seconds(1));
  if (stall_.count() > 0) tick = std::min<std::chrono::nanoseconds>(tick, stall_ / 4);
  if (long_task_.count() > 0) tick = std::min<std::chrono::nanoseconds>(tick, long_task_ / 4);
  std::uint64_t last = progress_of(pool_);
  auto last_change = clock::now();
  bool reported = false;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, tick, [&] { return stop_; })) {
    if (long_task_.count() > 0) report_long_tasks();
    if (stall_.count() == 0) continue;
    const std::uint64_t now_progress = progress_of(pool_);
    const auto now = clock::now();
    if (now_progress != last) {
      last = now_progress;
      last_change = now;
      reported = false;
      continue;
    }
    if (reported || now - last_change < stall_ || !anybody_waits(pool_)) continue;
    reported = true;
    const double secs = std::chrono::duration<double>(now - last_change).count();
    const std::string dump = render_dump(pool_);
    std::fprintf(stderr,
                 "cohort watchdog: no task started or finished for %.1f s while somebody waits; "
                 "a hang? The scheduler now:\n%s",
                 secs, dump.c_str());
    std::fflush(stderr);
  }
}

}  // namespace cohort::detail
