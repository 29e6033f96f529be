// SPDX-License-Identifier: Apache-2.0
// Regression tests for issue 9, items 1, 2, 3 and 5: what a waiting worker may run.
//
// A worker that waits (join, get, a gather's join) helps by running other jobs. It must
// never run, on top of the waiting task, a task that (transitively) waits for the one
// below it: that inner wait can never end, because the task it waits for cannot resume
// until the inner one returns. Each scenario here deadlocked on the code the issue was
// filed against; a watchdog turns the hang into a failure with the scheduler's dump().
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort_test::hang_limit;
using cohort_test::with_watchdog;

// Waits for something the calling worker's own pushes can never satisfy: a child on
// another scheduler. While it waits, the calling worker helps with what it may run.
void wait_on_foreign(cohort::scheduler& other, std::chrono::milliseconds how_long) {
  cohort::task_group foreign(other, {.name = "foreign"});
  foreign.spawn([how_long] { std::this_thread::sleep_for(how_long); }, {.name = "foreign-child"});
  foreign.join();
}

// Item 1, through gather(f0, f1). One worker: O spawns w (which waits on t) and then t,
// and joins. t runs gather(f0, f1); f0 waits on a foreign child, and that wait pops f1
// (legal: above the floor). When f0 returns, the gather's pop_local_until(&f1) must not
// keep popping below its own fork and run w on top of t.
TEST(wait_floor, gather_never_pops_a_job_below_its_own_fork_after_a_helper_ran_it) {
  cohort::scheduler s({.workers = 1, .name = "floor1"});
  cohort::scheduler other({.workers = 1, .name = "foreign1"});
  std::atomic<bool> w_done{false};
  with_watchdog(
      "gather(f0, f1) whose f1 was run by f0's wait",
      [&] {
        cohort::task_group top(s, {.name = "top"});
        auto top_task_1 = top.spawn(
            [&] {
              cohort::task_group g({.name = "O's group"});
              std::optional<cohort::task<void>> t;
              g.spawn(
                  [&] {
                    t->get();
                    w_done = true;
                  },
                  {.name = "w"});
              t.emplace(
                  g.spawn([&] { cohort::gather([&] { wait_on_foreign(other, 50ms); }, [] {}); },
                          {.name = "t"}));
              g.join();
            },
            {.name = "O"});
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit(), [&] { return s.dump(); });
  EXPECT_TRUE(w_done);
}

// Item 1, the same through gather(range, fn): the range's jobs are forks too.
TEST(wait_floor, gather_over_a_range_never_pops_a_job_below_its_own_forks) {
  cohort::scheduler s({.workers = 1, .name = "floor1r"});
  cohort::scheduler other({.workers = 1, .name = "foreign1r"});
  std::atomic<bool> w_done{false};
  with_watchdog(
      "gather(range, fn) whose later elements were run by the first one's wait",
      [&] {
        cohort::task_group top(s, {.name = "top"});
        auto top_task_1 = top.spawn(
            [&] {
              cohort::task_group g({.name = "O's group"});
              std::optional<cohort::task<void>> t;
              g.spawn(
                  [&] {
                    t->get();
                    w_done = true;
                  },
                  {.name = "w"});
              t.emplace(g.spawn(
                  [&] {
                    const std::vector<int> items{0, 1, 2, 3};
                    const auto out = cohort::gather(items, [&](int i) {
                      if (i == 0) wait_on_foreign(other, 50ms);
                      return i;
                    });
                    EXPECT_EQ(out, items);
                  },
                  {.name = "t"}));
              g.join();
            },
            {.name = "O"});
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit(), [&] { return s.dump(); });
  EXPECT_TRUE(w_done);
}

// Item 2. Worker V runs A, which spawns t1 and then s (s waits on t1) and stays busy.
// Worker W steals t1, which waits on a foreign group; while W helps, it must not steal s
// from V and run it on top of t1 (s would wait for ever on the task buried below it).
TEST(wait_floor, stolen_sibling_never_runs_on_top_of_the_task_it_waits_on) {
  cohort::scheduler s({.workers = 2, .name = "floor2"});
  cohort::scheduler other({.workers = 1, .name = "foreign2"});
  std::atomic<bool> sibling_done{false};
  with_watchdog(
      "a stolen sibling that waits on the task below it",
      [&] {
        cohort::task_group top(s, {.name = "top"});
        auto top_task_1 = top.spawn(
            [&] {
              cohort::task_group g({.name = "A's group"});
              cohort::task<void> t1 =
                  g.spawn([&] { wait_on_foreign(other, 150ms); }, {.name = "t1"});
              g.spawn(
                  [&] {
                    t1.wait();
                    sibling_done = true;
                  },
                  {.name = "s"});
              // Busy (not waiting): V runs nothing else meanwhile, so W steals both.
              const auto until = std::chrono::steady_clock::now() + 50ms;
              while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
              g.join();
            },
            {.name = "A"});
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit(), [&] { return s.dump(); });
  EXPECT_TRUE(sibling_done);
}

// Item 3 (the README's "known limit"). One worker: P spawns child c into g, then J into
// h; J joins g (a group it did not create), whose child c sits below J's floor. Nobody
// else can take c: the wait must still end.
TEST(wait_floor, joining_a_foreign_group_whose_child_sits_below_the_floor_ends_on_one_worker) {
  cohort::scheduler s({.workers = 1, .name = "floor3"});
  std::atomic<bool> c_ran{false}, j_done{false};
  with_watchdog(
      "a join of another task's group whose child is below the joiner's floor",
      [&] {
        cohort::task_group top(s, {.name = "top"});
        auto top_task_1 = top.spawn(
            [&] {
              cohort::task_group g({.name = "g"});
              cohort::task_group h({.name = "h"});
              g.spawn([&] { c_ran = true; }, {.name = "c"});
              h.spawn(
                  [&] {
                    g.join();
                    j_done = true;
                  },
                  {.name = "J"});
              h.join();
            },
            {.name = "P"});
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit(), [&] { return s.dump(); });
  EXPECT_TRUE(c_ran);
  EXPECT_TRUE(j_done);
}

// Item 3, second half: no waiter may spin. Two workers, the other one held busy for
// 500 ms, so the child c below J's floor waits that long for somebody to take it (or,
// once the known limit is gone, J takes it itself). J's thread must not burn a core
// meanwhile: before the fix it woke itself in a loop (park() announced itself as a
// sleeper, then notify_stranded_jobs -> wake_any picked its own slot).
TEST(wait_floor, a_worker_waiting_with_stranded_jobs_below_its_floor_does_not_spin) {
  cohort::scheduler s({.workers = 2, .name = "floor3s"});
  cohort_test::gate release_blocker;
  std::atomic<bool> blocker_running{false};
  std::chrono::nanoseconds join_cpu{}, join_wall{};
  with_watchdog(
      "a join with stranded jobs while the other worker is busy",
      [&] {
        cohort::task_group top(s, {.name = "top"});
        auto top_task_1 = top.spawn(
            [&] {
              cohort::task_group busy({.name = "busy"});
              busy.spawn(
                  [&] {
                    blocker_running = true;
                    // Sleeps while it waits, so the only CPU J's thread can lose is its own.
                    cohort_test::poll_until([&] { return release_blocker.is_open(); },
                                            hang_limit());
                  },
                  {.name = "blocker"});
              // The other worker takes the blocker; wait (bounded) until it has.
              ASSERT_TRUE(
                  cohort_test::poll_until([&] { return blocker_running.load(); }, hang_limit()));
              cohort::task_group g({.name = "g"});
              cohort::task_group h({.name = "h"});
              g.spawn([] {}, {.name = "c"});
              h.spawn(
                  [&] {
                    const auto cpu0 = cohort_test::thread_cpu_time();
                    const auto wall0 = std::chrono::steady_clock::now();
                    g.join();
                    join_cpu = cohort_test::thread_cpu_time() - cpu0;
                    join_wall = std::chrono::steady_clock::now() - wall0;
                  },
                  {.name = "J"});
              std::thread opener([&] {
                std::this_thread::sleep_for(500ms);
                release_blocker.open();
              });
              h.join();
              opener.join();
              busy.join();
            },
            {.name = "P"});
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit(), [&] { return s.dump(); });
  // A parked waiter uses next to no CPU (well under 5 ms in 500); a spinning one uses all
  // of the wall time on an idle machine (about 280 ms in 300 seen), and still a fair share
  // of a core on one loaded with a dozen other runnable threads.
  EXPECT_LT(join_cpu, 20ms)
      << "J's join took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(join_wall).count()
      << " ms of wall time";
}

// Item 5. One worker, a group with max_concurrency: b is spawned (submitted and counted)
// before a, which waits on b. a runs first (LIFO); its wait must run b, which sits below
// a's floor, instead of refusing every child of a limited group.
TEST(wait_floor, a_sibling_wait_in_a_max_concurrency_group_ends_on_one_worker) {
  cohort::scheduler s({.workers = 1, .name = "floor5"});
  std::atomic<int> b_value{0};
  with_watchdog(
      "a sibling wait inside a max_concurrency group",
      [&] {
        cohort::task_group top(s, {.name = "top"});
        auto top_task_1 = top.spawn(
            [&] {
              cohort::task_group g({.max_concurrency = 2, .name = "limited"});
              cohort::task<int> b = g.spawn([] { return 42; }, {.name = "b"});
              g.spawn([&] { b_value = b.get(); }, {.name = "a"});
              g.join();
            },
            {.name = "O"});
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit(), [&] { return s.dump(); });
  EXPECT_EQ(b_value, 42);
}

}  // namespace
