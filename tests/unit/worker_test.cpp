// SPDX-License-Identifier: Apache-2.0
// The worker loop's idle side (lib/worker.cpp, park_idle): what stats() says about
// parks and futile wake-ups (a worker woken from a park that goes back to sleep without
// having run a job). The pool is reached through lib_access so a test can wake a worker
// by hand, as a waker with nothing to give would. Every wait is bounded.
#include <cohort/scheduler.hpp>
#include <cohort/task_group.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lib_access.hpp"
#include "pool.hpp"
#include "test_support.hpp"

namespace {

using cohort::detail::lib_access;
using cohort::detail::pool;
using cohort::detail::worker;
using cohort_test::poll_until;

// True once every worker of `p` is inside its sleep (after its park was counted).
bool all_parked(pool& p, std::size_t workers) {
  std::size_t parked = 0;
  p.for_each_worker([&](worker& w) {
    if (w.activity.parked.load(std::memory_order_relaxed)) ++parked;
  });
  return parked == workers && p.sleep().sleeping_now() == workers;
}

// Counters are compiled out (COHORT_COUNTERS=OFF) when a parked pool counted no park.
bool counters_off(cohort::scheduler& s) {
  return s.stats().total.parks == 0;
}

TEST(worker, an_idle_pool_that_nobody_woke_counts_parks_but_no_futile_wake_up) {
  cohort::scheduler s({.workers = 2, .name = "idle"});
  pool& p = lib_access::pool_of(s);
  ASSERT_TRUE(poll_until([&] { return all_parked(p, 2); })) << "the idle workers never parked";
  if (counters_off(s)) GTEST_SKIP() << "built with COHORT_COUNTERS=OFF";
  const cohort::scheduler_stats st = s.stats();
  EXPECT_GE(st.total.parks, 2u);
  EXPECT_EQ(st.total.futile_wakeups, 0u) << "nobody woke a worker, yet a wake-up was counted";
}

TEST(worker, waking_a_parked_worker_with_no_work_counts_a_futile_wake_up) {
  cohort::scheduler s({.workers = 1, .name = "futile"});
  pool& p = lib_access::pool_of(s);
  ASSERT_TRUE(poll_until([&] { return all_parked(p, 1); })) << "the idle worker never parked";
  if (counters_off(s)) GTEST_SKIP() << "built with COHORT_COUNTERS=OFF";
  ASSERT_EQ(s.stats().total.futile_wakeups, 0u);
  p.sleep().wake(0);  // a wake-up with nothing posted: the worker searches, then parks again
  EXPECT_TRUE(poll_until([&] { return s.stats().total.futile_wakeups >= 1; }))
      << "the worker went back to sleep, but no futile wake-up was counted";
  EXPECT_GE(s.stats().total.parks, 2u);
}

TEST(worker, a_wake_up_that_finds_a_job_is_not_futile) {
  cohort::scheduler s({.workers = 1, .name = "useful"});
  pool& p = lib_access::pool_of(s);
  ASSERT_TRUE(poll_until([&] { return all_parked(p, 1); })) << "the idle worker never parked";
  if (counters_off(s)) GTEST_SKIP() << "built with COHORT_COUNTERS=OFF";
  const std::uint64_t parks_before = s.stats().total.parks;
  std::atomic<bool> ran{false};
  {
    cohort::task_group g(s);
    g.spawn([&] { ran.store(true); });  // from outside: wakes the one worker
    // The worker runs it (joining first could run it here, and the wake-up would then
    // find nothing: futile, rightly).
    ASSERT_TRUE(poll_until([&] { return ran.load(); }));
    g.join();
  }
  ASSERT_TRUE(ran.load());
  ASSERT_TRUE(poll_until([&] { return all_parked(p, 1) && s.stats().total.parks > parks_before; }))
      << "the worker never parked again after its job";
  EXPECT_EQ(s.stats().total.futile_wakeups, 0u)
      << "the worker ran a job after it woke: its next park is not a futile wake-up";
}

}  // namespace
