#include "watchdog.hpp"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "blocked.hpp"
#include "pool.hpp"
#include "stats.hpp"

namespace cohort::detail {
namespace {

std::uint64_t progress_of(pool& p) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const worker_counters& c = p.worker_at(i).counters;
    sum += c.tasks_run.load(std::memory_order_relaxed) + c.spawned.load(std::memory_order_relaxed);
  }
  return sum + p.injected_count.load(std::memory_order_relaxed);
}

bool anybody_waits(pool& p) {
  if (blocked_thread_count() > 0) return true;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p.worker_at(i).activity.waiting_on.load(std::memory_order_relaxed) != nullptr) return true;
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

watchdog::watchdog(pool& p, std::chrono::nanoseconds stall)
    : pool_(p), stall_(stall), thread_([this] { main(); }) {}

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
  const auto tick = std::min<std::chrono::nanoseconds>(stall_ / 4, std::chrono::seconds(1));
  std::uint64_t last = progress_of(pool_);
  auto last_change = clock::now();
  bool reported = false;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, tick, [&] { return stop_; })) {
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
