// SPDX-License-Identifier: Apache-2.0
// A worker thread: its deque, its counters, the loop that finds work, and what it may
// run while the task it runs waits.
//
// The loop (main_loop): own deque (LIFO: the children it just spawned), the injection
// queue (a batch, moved into its own deque so peers can steal), then a steal at each
// other thread of the pool (retried once after a lost race), starting at a random
// victim. When that finds nothing it spins a bounded number of rounds, then parks
// (sleep.hpp).
//
// A wait inside a task (join, get, wait: `wait()` here) runs, on this stack, only what
// lib/README.md "What a wait may run" allows, which is where the rule and the proof that
// no wait deadlocks live: the awaited task itself when nobody started it (the join logic
// does that, child_run_inline), jobs on top of its own deque, above the task's floor,
// that descend from the waiting task (pop_in_wait), and jobs it steals that descend from
// the waiting task (steal_in_wait; others go to the injection queue, never run here). A
// job on top of its own deque that it may not run stays there for thieves. It never
// takes the injection queue. With nothing to run it spins briefly on the target, then
// blocks (enter_blocked): the sleep module lets another thread (a sleeper or a spare)
// take its place, so the pool keeps its parallelism. A timed wait runs nothing at all:
// whatever it ran could outlast the timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

#include <cohort/detail/group_core.hpp>
#include <cohort/detail/job.hpp>

#include "deque.hpp"
#include "join_credit.hpp"
#include "lib_access.hpp"
#include "observe/activity.hpp"
#include "spin_lock.hpp"

namespace cohort::detail {

class pool;
class group_core;

// Groups alive on one thread (dump() walks them).
struct live_group_list {
  spin_lock mutex;
  lib_access::live_groups groups;  // guarded by mutex
  void add(group_core* g) noexcept;
  // A group's destruction: also drops its creator's count of live groups (cancel_node.hpp).
  void remove_and_unlink_creator(group_core* g) noexcept;
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
  // Parks that followed a wake-up with no job run in between (park_idle).
  std::atomic<std::uint64_t> futile_wakeups{0};
  std::atomic<std::uint64_t> parked_ns{0};
  // Jobs its thread pushed from outside the pool (outside slots only).
  std::atomic<std::uint64_t> submitted_from_outside{0};
  // Times the silent-block guard counted this thread as blocked (written by the guard's
  // thread, the one writer of this field; counted even without COHORT_NO_COUNTERS).
  std::atomic<std::uint64_t> presumed_blocked{0};

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
  // A slot for a thread outside the pool (outside_slots.hpp): a worker with no thread of
  // its own, run by its holder while it joins.
  static constexpr struct outside_slot_t {
  } outside_slot{};
  worker(pool& owner, std::size_t index, outside_slot_t);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void start();
  void join_thread();

  pool& owner() const noexcept { return *pool_; }
  std::size_t index() const noexcept { return index_; }
  // An outside thread's slot rather than one of the pool's threads.
  bool outside() const noexcept { return outside_; }
  // How dump() and the watchdog name it: "worker 3 (render-3)", "outside thread 0
  // (render-outside-0)".
  std::string label() const;

  void push(job* j);
  // A spawn by the slot's thread from outside the pool (not from a job it runs): as
  // push(), counted as submitted from outside (stats().injected).
  void push_from_outside(job* j);
  // The pool stops: runs or drops whatever is still queued here (a slot's leftovers).
  void drop_leftovers() noexcept;
  // gather's join: pops its own deque until `j` comes back (true), running on the way the
  // jobs above it that the current task may run; false if `j` is not reachable (stolen,
  // or under a job this task may not run).
  bool pop_until(job* j);
  // A wait inside a task: runs what it may (see above), then blocks. False if the
  // deadline passed first.
  bool wait(wait_target& target, clock::time_point deadline);
  // Runs a child this worker claimed (child_claim) as a waiter.
  void execute_claimed(child_base* c) noexcept;
  // The common join (group_core::join by the task that made the group): while the newest
  // job on this worker's deque is one of g's children, runs it here. A child of a group
  // the running task made descends from that task, so a general wait's descendant check
  // and its target are not needed. Returns when no child of g is unfinished or the top
  // of the deque is something else; the general wait (wait()) takes over then.
  // `credit`: the join's credit, if it has one (join_credit.hpp): the children it counted
  // are still unfinished in g's count.
  void run_children_on_top(const group_core& g, const join_credit* credit = nullptr) noexcept;
  // The same for a thread outside the pool that joins g, in its slot (this worker): on
  // a frame of its own, so dump() shows the join and what it runs.
  void run_children_from_outside(const group_core& g, const join_credit* credit = nullptr) noexcept;
  // An outside slot about to block, or whose thread leaves it: wakes a thread for the
  // jobs left on its deque (a job it popped and put back was announced by nobody).
  void announce_own_jobs() noexcept;
  // The calling task blocks outside cohort (cohort::blocking()): another thread takes
  // this worker's place until leave_blocked().
  void enter_blocked() noexcept;
  void leave_blocked() noexcept;

  // Who holds this pool thread's blocked count in the sleep module: nobody, the thread
  // itself (enter_blocked, outermost level), or the silent-block guard (silent_block.hpp),
  // which found it off the CPU inside a job while work waited. The guard moves
  // none -> presumed (and back, when it finds it was wrong); the thread moves everything
  // else. Every move away from `presumed` is an RMW, and whoever makes it owns the count.
  enum : std::uint8_t { block_none = 0, block_own = 1, block_presumed = 2 };
  std::atomic<std::uint8_t> block_state{block_none};
  // The guard's step (its thread): counts this thread as blocked and wakes or starts
  // another for the waiting work, if the thread is still inside the job that had run
  // `tasks_run` jobs when the guard looked. False if it was not.
  bool presume_blocked(std::uint64_t tasks_run) noexcept;
  // Gives the guard's count back: by the guard when the thread it counted runs again (or
  // its look was stale), by the thread at its next step in main_loop. An RMW, so only one
  // of them does; true for that one.
  bool unpresume_blocked() noexcept;
  // CPU time this thread has used; false before it started.
  bool cpu_time_ns(std::int64_t& out) const noexcept;
  // The kernel's id of this thread (for /proc/self/task/<tid>/schedstat); 0 before it
  // started.
  int os_thread_id() const noexcept { return os_tid_.load(std::memory_order_acquire); }

  // What peers get of this worker's deque: steal and look, never push or pop.
  deque_thief<job*> thief() noexcept { return deque_thief<job*>(deque_); }

  worker_counters counters;
  worker_activity activity;  // for dump() and the watchdog
  live_group_list live_groups;

 private:
  static constexpr std::int64_t no_floor = INT64_MIN;

  void main();
  void main_loop();
  job* find_work();
  // Inside a wait: pops the top of the own deque (above the task floor) and runs it if
  // the running task may (lib/README.md); `target` (a gather child being joined) is
  // returned to the caller instead. `blocked`: the top is a job this task may not run,
  // left in place.
  enum class wait_pop { nothing, ran, target, blocked };
  wait_pop pop_in_wait(const job* target);
  // Inside an untimed wait with nothing of its own to run: steals one job and runs it if
  // it descends from the waiting task; `foreign`: it did not, and was handed on.
  enum class wait_steal { nothing, ran, foreign };
  wait_steal steal_in_wait();
  // Runs `x` (popped or stolen, so ours to dispose of) if the running task may run it
  // inside its wait; true also when a waiter ran it already. False: `x` is untouched.
  bool run_if_descendant(job* x) noexcept;
  // The untimed wait's helping phase: own descendants, then steals, then a short spin.
  // True once the target is done; false when the wait should block.
  bool help_while_waiting(wait_target& target);
  void execute(job* j) noexcept;
  // main_loop's execute: a child counts its end in `credit` (join_credit.hpp) while the
  // children taken in a row belong to one group; settles it before anything else.
  void execute_on_credit(job* j, join_credit& credit) noexcept;
  // How many ends a worker's credit may hold after a job before it settles them anyway:
  // one RMW per 64 children is noise, and dump()'s unfinished count lags by about that
  // much per thread (more only while a child runs its siblings inline).
  static constexpr std::uint32_t max_credit = 64;
  void run_claimed(job* j) noexcept;
  void park_idle();
  // This thread is back in cohort's loop (after a job, or idle): it takes back the
  // guard's count if the guard made one. One load per step of main_loop (worker.cpp).
  void drop_presumed_block() noexcept;
  // Nesting of enter_blocked (cohort::blocking() may nest, and a wait inside it blocks
  // again): only the outermost level moves block_state. This thread only.
  unsigned blocked_depth_ = 0;

  pool* pool_;
  std::size_t index_;
  bool outside_ = false;
  // Reached only through handles (deque.hpp): own() on this worker's thread, thief() for
  // peers. A handle is a pointer made on the spot and inlined away: no cost.
  chase_lev_deque<job*> deque_;
  deque_owner<job*> own() noexcept { return deque_owner<job*>(deque_); }
  std::uint64_t rng_;
  bool searching_ = false;
  // Woke from a park and has run no job since: set after the sleep, cleared where
  // main_loop finds work (a plain write on the first job after searching, never per job);
  // a park with it still set counts a futile wake-up. This thread only.
  bool woke_without_work_ = false;
  // Where the running job's own pushes begin on this deque. A wait inside that job
  // leaves what lies below alone: jobs pushed before it started, which may wait on it.
  // This thread only.
  std::int64_t task_floor_ = no_floor;
  std::thread thread_;
  // Set by the thread itself when it starts (the guard reads other threads' CPU time).
  clockid_t cpu_clock_{};
  std::atomic<bool> has_cpu_clock_{false};  // release/acquire: publishes cpu_clock_
  std::atomic<int> os_tid_{0};
};

template <class F>
void live_group_list::for_each(F& f) {
  std::lock_guard<spin_lock> lock(mutex);
  for (group_core* g = groups.front(); g != nullptr; g = lib_access::live_groups::next(*g)) f(*g);
}

// A name for a job in traces and dumps; the name of a child's group (empty otherwise).
std::string describe_job(const job* j);
std::string job_group_name(const job* j);

// The worker running on this thread, null off the pool.
extern constinit thread_local worker* current_worker;

}  // namespace cohort::detail
