// A worker thread: its deque, its counters, and the loop that finds work.
//
// Where a worker looks for work, in order: its own deque (LIFO: the children it just
// spawned, usually the ones it is about to wait for), the injection queue (a batch, moved
// into its own deque so peers can steal), then one steal attempt at each other worker,
// starting at a random victim. When that finds nothing it spins a bounded number of
// rounds, then parks (sleep.hpp).
//
// The same loop serves waits: `run_until(target)` runs jobs until the target completes,
// so a worker blocked in join/get/wait keeps the pool busy instead of deadlocking it.
// What may run inside a wait: any job of this pool, own deque first. Code that holds a
// lock across a wait can therefore re-enter that lock from an unrelated task (the rayon
// #592 trap); the README says so.
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <cohort/detail/group_core.hpp>
#include <cohort/detail/job.hpp>

#include "activity.hpp"
#include "deque.hpp"
#include "spin_lock.hpp"

namespace cohort::detail {

class pool;
class group_core;

// Groups alive on one thread (dump() walks them).
group_core* next_live_of(group_core* g) noexcept;

struct live_group_list {
  spin_lock mutex;
  group_core* head = nullptr;  // guarded by mutex
  void add(group_core* g) noexcept;
  void remove(group_core* g) noexcept;
  template <class F>
  void for_each(F& f);
};

// Something a worker or thread can wait for: one or more parking-lot keys
// (parking_lot.hpp), e.g. a task's completion word, or several for "any of these".
class wait_target {
 public:
  virtual bool done() const noexcept = 0;
  virtual std::size_t key_count() const noexcept { return 1; }
  virtual const void* key(std::size_t i) const noexcept = 0;
  // Under the bucket lock of key i: tell its completer a sleeper exists; return true if
  // still not done there (the caller may sleep).
  virtual bool announce(std::size_t i) noexcept = 0;

 protected:
  ~wait_target() = default;
};

// Per-worker counters, written only by their worker (relaxed load+store, no RMW), read by
// stats() with relaxed loads: a snapshot, not a consistent cut.
struct alignas(64) worker_counters {
  std::atomic<std::uint64_t> tasks_run{0};
  std::atomic<std::uint64_t> spawned{0};
  std::atomic<std::uint64_t> stolen{0};
  std::atomic<std::uint64_t> steal_failures{0};
  std::atomic<std::uint64_t> injected_taken{0};
  std::atomic<std::uint64_t> parks{0};
  std::atomic<std::uint64_t> parked_ns{0};

  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) noexcept {
#ifndef COHORT_NO_COUNTERS
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
#else
    (void)c;
    (void)by;
#endif
  }
};

class worker {
 public:
  using clock = std::chrono::steady_clock;

  worker(pool& owner, std::size_t index);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void start();
  void join_thread();

  pool& owner() const noexcept { return *pool_; }
  std::size_t index() const noexcept { return index_; }

  void push(job* j);
  bool pop_until(job* j);
  // Runs jobs until target->done() (or, with no target, until the pool stops). Returns
  // false if the deadline passed first. Jobs of its own deque below `own_floor` (there
  // before the waiting task started) are left alone; see wait_complete.
  static constexpr std::int64_t no_floor = INT64_MIN;
  bool run_until(wait_target* target, clock::time_point deadline = clock::time_point::max(),
                 std::int64_t own_floor = no_floor);
  // Where the running job's own pushes begin on this deque: a task wait leaves what lies
  // below alone (jobs pushed before the task started, which may wait on it).
  std::int64_t task_floor() const noexcept { return task_floor_; }
  // Runs a child this worker claimed (child_claim) as a waiter.
  void execute_claimed(child_base* c) noexcept;

  bool looks_idle() const noexcept { return deque_.looks_empty(); }
  steal_result steal_from(job*& out) { return deque_.steal(out); }

  worker_counters counters;
  worker_activity activity;  // for dump() and the watchdog
  live_group_list live_groups;

 private:
  void main();
  job* find_work(std::int64_t own_floor = no_floor);
  void execute(job* j) noexcept;
  void run_claimed(job* j) noexcept;
  void park(wait_target* target, clock::time_point deadline);

  pool* pool_;
  std::size_t index_;
  chase_lev_deque<job*> deque_;
  std::uint64_t rng_;
  bool searching_ = false;
  std::int64_t task_floor_ = no_floor;  // see task_floor(); this thread only
  std::thread thread_;
};

template <class F>
void live_group_list::for_each(F& f) {
  std::lock_guard<spin_lock> lock(mutex);
  for (group_core* g = head; g != nullptr; g = next_live_of(g)) f(*g);
}

// A name for a job in traces and dumps; the name of a child's group (empty otherwise).
std::string describe_job(const job* j);
std::string job_group_name(const job* j);

// The worker running on this thread, null off the pool.
extern constinit thread_local worker* current_worker;

}  // namespace cohort::detail
