// SPDX-License-Identifier: Apache-2.0
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
#include "observe/trace.hpp"
#include "outside_slots.hpp"
#include "silent_block.hpp"
#include "sleep.hpp"
#include "timer.hpp"
#include "worker.hpp"

namespace cohort::detail {

void register_pool(pool* p);
void unregister_pool(pool* p) noexcept;

class pool {
 public:
  pool(scheduler& owner, scheduler_options options);
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  scheduler& owner() const noexcept { return *owner_; }
  const std::string& name() const noexcept { return name_; }
  // The worker count asked for (the parallelism limit).
  std::size_t size() const noexcept { return limit_; }
  // Threads started so far: the workers, then spares that took the place of blocked
  // workers (sleep.hpp). Index i < thread_count() may still be starting (null below).
  std::size_t thread_count() const noexcept { return sleep_.threads(); }
  // The most threads there may ever be; outside slots are numbered from here on.
  std::size_t capacity() const noexcept { return capacity_; }
  worker* worker_if_started(std::size_t i) noexcept {
    // acquire: pairs with the release publication in start_thread; the worker is built.
    return table_[i].load(std::memory_order_acquire);
  }
  // Every worker: the pool's threads, then the slots of threads outside the pool
  // (outside_slots.hpp), which run jobs only while their thread joins.
  template <class F>
  void for_each_worker(F&& f) {
    const std::size_t n = thread_count();
    for (std::size_t i = 0; i < n; ++i)
      if (worker* w = worker_if_started(i)) f(*w);
    for (std::size_t k = 0, m = outside_->count(); k < m; ++k) f(*outside_->at(k));
  }
  // Whom a thief may steal from: the threads started, then the outside slots made, as
  // counted once at the start of a search (both only grow).
  struct victim_set {
    std::size_t threads;
    std::size_t outside;
    std::size_t size() const noexcept { return threads + outside; }
  };
  victim_set victims() const noexcept { return {thread_count(), outside_->count()}; }
  worker* victim(const victim_set& v, std::size_t i) noexcept {
    return i < v.threads ? worker_if_started(i) : outside_->at(i - v.threads);
  }
  const outside_slot_table& outside_slots() const noexcept { return *outside_; }
  std::shared_ptr<outside_slot_table> outside_slots_shared() const noexcept { return outside_; }
  sleep_module& sleep() noexcept { return sleep_; }
  injection_queue& injected() noexcept { return injected_; }
  group_core& detached() noexcept { return *detached_; }
  timer_service& timers();

  void inject(job* j);
  // A job submitted on the calling thread: onto its worker's own deque; from a thread
  // outside every pool, onto that thread's own slot (outside_slots.hpp); from a worker of
  // another pool, or an outside thread that cannot have a slot, into the injection
  // queue. Inline: every spawn takes this path.
  void submit_here(job* j) {
    if (worker* w = current_worker) {
      if (&w->owner() == this) return w->push(j);
    } else if (worker* slot = cached_outside_table == outside_.get() ? cached_outside_slot
                                                                     : claim_outside_slot(*this)) {
      return slot->push_from_outside(j);
    }
    inject(j);
  }
  // For the default scheduler, which is never destroyed: at exit, waits for the detached
  // tasks and writes the COHORT_TRACE file.
  void finish_at_exit() noexcept;
  // After an idle or blocked worker's barrier (sleep.hpp): is there anything to take,
  // in any deque or the injection queue?
  bool work_visible() noexcept;
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

  tracer& trace() noexcept { return tracer_; }
  // Whether workers stamp the start of each job (for ages in dump() and the watchdog).
  bool timing() const noexcept { return timing_.load(std::memory_order_relaxed); }
  void set_watchdog(std::chrono::nanoseconds stall);
  void set_long_task_report(std::chrono::nanoseconds threshold);
  void enable_timing(bool on) noexcept { timing_.store(on, std::memory_order_relaxed); }

  void set_handler(unhandled_exception_handler h);
  void report_unhandled(const std::exception_ptr& e, std::string_view task_name) noexcept;

  // Live groups, for dump(): each group is listed where it was created (the creating
  // worker's list, or the pool's list for threads outside the pool), so creating a group
  // on a worker takes an uncontended lock.
  // The live-group list of the calling thread: its worker's, else the one for outsiders.
  live_group_list& live_groups_here() noexcept {
    if (worker* w = current_worker; w != nullptr && &w->owner() == this) return w->live_groups;
    return external_groups_;
  }
  template <class F>
  void for_each_live_group(F&& f) {
    external_groups_.for_each(f);
    for_each_worker([&](worker& w) { w.live_groups.for_each(f); });
  }

  std::atomic<std::uint64_t> injected_count{0};
  std::atomic<std::uint64_t> cancelled_count{0};

 private:
  static bool spawn_spare(void* self, std::size_t index) noexcept;
  void start_thread(std::size_t index);

  scheduler* owner_;
  std::string name_;
  std::size_t limit_;
  std::size_t capacity_;
  std::unique_ptr<std::atomic<worker*>[]> table_;  // capacity_ entries, filled in order
  std::mutex threads_mutex_;                       // guards owned_
  std::vector<std::unique_ptr<worker>> owned_;
  injection_queue injected_;
  // Declared before the tracer, whose lanes it sizes.
  std::shared_ptr<outside_slot_table> outside_;
  sleep_module sleep_;
  std::unique_ptr<group_core> detached_;
  std::atomic<bool> stopping_{false};
  tracer tracer_;
  std::atomic<bool> timing_{false};
  std::string trace_path_;  // COHORT_TRACE: written when the pool stops
  void restart_watchdog();
  std::chrono::nanoseconds stall_{0};      // COHORT_WATCHDOG / set_watchdog
  std::chrono::nanoseconds long_task_{0};  // COHORT_LONG_TASK / set_long_task_report
  std::unique_ptr<class watchdog> watchdog_;
  std::unique_ptr<silent_block_guard> silent_block_guard_;  // null if turned off

  std::once_flag timers_once_;
  std::unique_ptr<timer_service> timers_;

  std::mutex handler_mutex_;
  unhandled_exception_handler handler_;  // guarded by handler_mutex_

  live_group_list external_groups_;
};

}  // namespace cohort::detail
