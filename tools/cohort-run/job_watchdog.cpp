// SPDX-License-Identifier: Apache-2.0
#include "job_watchdog.hpp"

#include <cstdio>
#include <string>

#include "output.hpp"

namespace cohort_run {

using clock = std::chrono::steady_clock;

job_watchdog::job_watchdog(const running_jobs& jobs, std::chrono::nanoseconds stall)
    : jobs_(jobs),
      stall_(stall),
      last_progress_(clock::now().time_since_epoch().count()),
      thread_([this] { watch(); }) {}

job_watchdog::~job_watchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void job_watchdog::job_finished() noexcept {
  last_progress_.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

void job_watchdog::watch() {
  using std::chrono::duration;
  clock::rep reported_for = 0;  // the progress stamp we last reported a stall for
  std::unique_lock lock(mutex_);
  const auto period = std::max<std::chrono::nanoseconds>(stall_ / 4, std::chrono::milliseconds(10));
  while (!wake_.wait_for(lock, period, [&] { return stopping_; })) {
    const clock::rep last = last_progress_.load(std::memory_order_relaxed);
    const clock::time_point since{clock::duration(last)};
    const auto now = clock::now();
    if (now - since < stall_) continue;
    // One report per stall period.
    if (reported_for != 0 && now - clock::time_point{clock::duration(reported_for)} < stall_)
      continue;
    const auto running = jobs_.snapshot();
    if (running.empty()) continue;
    reported_for = now.time_since_epoch().count();
    std::string text = "cohort-run: watchdog: no job finished for " +
                       std::to_string(duration<double>(now - since).count()) + " s; running:\n";
    for (const auto& j : running) {
      char head[160];
      std::snprintf(head, sizeof head, "  #%zu slot %zu pid %d age %.1fs: ", j.seq, j.slot, j.pid,
                    duration<double>(j.age).count());
      text += head + j.command.substr(0, 200) + "\n";
      if (!j.last_line.empty()) text += "      last output: " + j.last_line + "\n";
    }
    write_all(2, text);
  }
}

}  // namespace cohort_run
