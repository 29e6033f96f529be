// The pool behind a scheduler: its workers, the injection queue, the sleep module, the
// detached-task group, the timer, the unhandled-exception handler and the list of live
// groups (for dump()). Shutdown: wait for the detached tasks, then stop and join workers.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <cohort/detail/group_core.hpp>
#include <cohort/scheduler.hpp>

#include "injection_queue.hpp"
#include "sleep.hpp"
#include "timer.hpp"
#include "trace.hpp"
#include "worker.hpp"

namespace cohort::detail {

class pool {
 public:
  pool(scheduler& owner, scheduler_options options);
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  scheduler& owner() const noexcept { return *owner_; }
  const std::string& name() const noexcept { return name_; }
  std::size_t size() const noexcept { return workers_.size(); }
  worker& worker_at(std::size_t i) noexcept { return *workers_[i]; }
  sleep_module& sleep() noexcept { return sleep_; }
  injection_queue& injected() noexcept { return injected_; }
  group_core& detached() noexcept { return *detached_; }
  timer_service& timers();

  void inject(job* j);
  // After an idle worker announced it will sleep: is there anything to take? (`except`:
  // a worker whose own deque does not count.)
  bool work_visible(const worker* except = nullptr) const noexcept;
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

  tracer& trace() noexcept { return tracer_; }
  // Whether workers stamp the start of each job (for ages in dump() and the watchdog).
  bool timing() const noexcept { return timing_.load(std::memory_order_relaxed); }
  void set_watchdog(std::chrono::nanoseconds stall);
  void enable_timing(bool on) noexcept { timing_.store(on, std::memory_order_relaxed); }

  void set_handler(unhandled_exception_handler h);
  void report_unhandled(const std::exception_ptr& e, std::string_view task_name) noexcept;

  // Live groups, for dump(): each group is listed where it was created (the creating
  // worker's list, or the pool's list for threads outside the pool), so creating a group
  // on a worker takes an uncontended lock.
  live_group_list& live_groups_here() noexcept;
  template <class F>
  void for_each_live_group(F&& f) {
    external_groups_.for_each(f);
    for (auto& w : workers_) w->live_groups.for_each(f);
  }

  std::atomic<std::uint64_t> injected_count{0};
  std::atomic<std::uint64_t> cancelled_count{0};

 private:
  scheduler* owner_;
  std::string name_;
  std::vector<std::unique_ptr<worker>> workers_;
  injection_queue injected_;
  sleep_module sleep_;
  std::unique_ptr<group_core> detached_;
  std::atomic<bool> stopping_{false};
  tracer tracer_;
  std::atomic<bool> timing_{false};
  std::string trace_path_;  // COHORT_TRACE: written when the pool stops
  std::unique_ptr<class watchdog> watchdog_;

  std::once_flag timers_once_;
  std::unique_ptr<timer_service> timers_;

  std::mutex handler_mutex_;
  unhandled_exception_handler handler_;  // guarded by handler_mutex_

  live_group_list external_groups_;
};

}  // namespace cohort::detail
