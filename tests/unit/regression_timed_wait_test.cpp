// SPDX-License-Identifier: Apache-2.0
// Regression tests for issue 9, item 7: a timed wait returns close to its timeout,
// whatever the waiting worker runs meanwhile.
//
// On a worker, a timed wait used to run a pending child inline to its end, or help with a
// long job and return only after it: wait_for(10ms) came back after 300 ms. The contract
// (issue 9): within about 2 ms plus one scheduling quantum of the timeout. These tests
// assert a generous bound (timeout + 100 ms) so that a loaded machine does not fail them,
// while a 300 ms overshoot still does.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <tuple>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using cohort_test::hang_limit;
using cohort_test::with_watchdog;

constexpr auto timeout = 10ms;
constexpr auto long_job = 300ms;
// The generous bound: a timed wait that ran the 300 ms job to its end cannot meet it.
constexpr auto bound = timeout + 100ms;

long long ms(clock_type::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

TEST(timed_wait,
     wait_for_on_a_pending_child_returns_near_its_timeout_instead_of_running_it_inline) {
  cohort::scheduler s({.workers = 1, .name = "tw1"});
  clock_type::duration took{};
  bool done_in_time = true;
  with_watchdog(
      "wait_for on a pending child",
      [&] {
        cohort::task_group top(s);
        auto top_task_1 = top.spawn([&] {
          cohort::task_group g;
          cohort::task<void> c =
              g.spawn([] { std::this_thread::sleep_for(long_job); }, {.name = "slow"});
          const auto t0 = clock_type::now();
          done_in_time = c.wait_for(timeout);
          took = clock_type::now() - t0;
          g.join();
        });
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit());
  EXPECT_LT(took, bound) << "wait_for(10ms) returned after " << ms(took) << " ms";
  EXPECT_FALSE(done_in_time) << "a 300 ms child cannot be done within 10 ms";
}

TEST(timed_wait,
     wait_first_completed_with_a_timeout_returns_near_it_instead_of_running_a_child_inline) {
  cohort::scheduler s({.workers = 1, .name = "tw2"});
  clock_type::duration took{};
  std::size_t done_count = 99;
  with_watchdog(
      "wait(first_completed, 10ms) on pending children",
      [&] {
        cohort::task_group top(s);
        auto top_task_1 = top.spawn([&] {
          cohort::task_group g;
          std::vector<cohort::task<void>> tasks;
          for (int i = 0; i < 2; ++i)
            tasks.push_back(g.spawn([] { std::this_thread::sleep_for(long_job); }));
          const auto t0 = clock_type::now();
          const auto r = cohort::wait(tasks, cohort::wait_policy::first_completed, timeout);
          took = clock_type::now() - t0;
          done_count = r.done.size();
          g.join();
        });
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit());
  EXPECT_LT(took, bound) << "wait(first_completed, 10ms) returned after " << ms(took) << " ms";
  EXPECT_EQ(done_count, 0u);
}

// The child waited on runs on the other worker; the waiter's own deque holds a 300 ms
// job. Helping with it is allowed only if the wait still ends near its timeout.
TEST(timed_wait, wait_for_on_a_running_child_returns_near_its_timeout_while_a_long_job_is_queued) {
  cohort::scheduler s({.workers = 2, .name = "tw3"});
  clock_type::duration took{};
  bool done_in_time = true;
  with_watchdog(
      "wait_for on a running child with a long job queued",
      [&] {
        cohort::task_group top(s);
        auto top_task_1 = top.spawn([&] {
          cohort::task_group g;
          std::atomic<bool> running{false};
          cohort::task<void> r = g.spawn(
              [&] {
                running = true;
                std::this_thread::sleep_for(long_job);
              },
              {.name = "running"});
          // Bounded: the other worker steals it.
          ASSERT_TRUE(cohort_test::poll_until([&] { return running.load(); }, hang_limit()));
          g.spawn([] { std::this_thread::sleep_for(long_job); }, {.name = "queued-long-job"});
          const auto t0 = clock_type::now();
          done_in_time = r.wait_for(timeout);
          took = clock_type::now() - t0;
          g.join();
        });
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit());
  EXPECT_LT(took, bound) << "wait_for(10ms) returned after " << ms(took) << " ms";
  EXPECT_FALSE(done_in_time);
}

}  // namespace
