// SPDX-License-Identifier: Apache-2.0
// Regression tests for issue 9, item 12: deadlines that already passed, and concurrent
// joins (found by porting CPython's, oneTBB's and Trio's task-group tests).
//
// - with_timeout(d <= 0, f) throws timeout_error and never starts f (asyncio.timeout(0)).
// - cancel_after(d <= 0) cancels the group at once: cancelled() is true right after the
//   call, a child spawned next never runs, and join() throws timeout_error even when
//   every child was fast (join() checks the deadline itself, not only the timer thread).
// - Several threads joining one group at once: the failure is never silently lost. Each
//   caller gets the task_group_error or a std::logic_error (a second join while the
//   first one runs), never a normal return.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort_test::hang_limit;
using cohort_test::with_watchdog;

// From a task (on a worker) f would run inline at once, so no race with the timer
// thread decides the outcome; from outside the pool as well.
TEST(deadline_join, with_timeout_of_zero_throws_timeout_error_without_starting_f) {
  cohort::scheduler s({.workers = 1, .name = "wt0"});
  const int trials = static_cast<int>(cohort_test::scaled(100, 20));
  std::atomic<int> started{0}, returned{0}, timed_out{0};
  auto one_call = [&] {
    std::atomic<bool> ran{false};
    try {
      const int v = cohort::with_timeout(s, 0ns, [&] {
        ran = true;
        return 7;
      });
      returned += v == 7;
    } catch (const cohort::timeout_error&) {
      ++timed_out;
    }
    started += ran.load();
  };
  with_watchdog(
      "with_timeout(0ns)",
      [&] {
        cohort::task_group top(s);
        auto top_task_1 = top.spawn([&] {
          for (int i = 0; i < trials; ++i) one_call();
        });
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
        for (int i = 0; i < trials; ++i) one_call();
      },
      hang_limit());
  EXPECT_EQ(timed_out.load(), 2 * trials)
      << returned << " of " << 2 * trials << " calls returned f's value";
  EXPECT_EQ(started.load(), 0) << "f was started " << started << " of " << 2 * trials << " times";
}

// Called from a task (on a worker), where f would run inline at once: no race with the
// timer thread decides the outcome.
TEST(deadline_join, with_timeout_of_a_negative_duration_throws_timeout_error_without_starting_f) {
  cohort::scheduler s({.workers = 1, .name = "wtneg"});
  const int trials = static_cast<int>(cohort_test::scaled(100, 20));
  int started = 0, timed_out = 0;
  with_watchdog(
      "with_timeout(-1ms) on a worker",
      [&] {
        cohort::task_group top(s);
        auto top_task_1 = top.spawn([&] {
          for (int i = 0; i < trials; ++i) {
            std::atomic<bool> ran{false};
            try {
              cohort::with_timeout(-1ms, [&] { ran = true; });
            } catch (const cohort::timeout_error&) {
              ++timed_out;
            }
            started += ran.load();
          }
        });
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit());
  EXPECT_EQ(timed_out, trials);
  EXPECT_EQ(started, 0) << "f was started " << started << " of " << trials << " times";
}

// A passed deadline cancels at once: no child spawned after it runs, and join() reports
// the deadline although every child (there are none that ran) was fast.
TEST(deadline_join, cancel_after_a_passed_deadline_cancels_at_once_and_join_throws_timeout_error) {
  cohort::scheduler s({.workers = 2, .name = "ca0"});
  const int trials = static_cast<int>(cohort_test::scaled(200, 50));
  int not_cancelled_at_once = 0, children_ran = 0, joins_not_timing_out = 0;
  with_watchdog(
      "cancel_after(0ns)",
      [&] {
        for (int i = 0; i < trials; ++i) {
          std::atomic<bool> ran{false};
          cohort::task_group g(s, {.name = "late"});
          g.cancel_after(i % 2 == 0 ? 0ns : -5ms);
          not_cancelled_at_once += !g.cancelled();
          g.spawn([&] { ran = true; });
          try {
            g.join();
            ++joins_not_timing_out;
          } catch (const cohort::timeout_error&) {
          } catch (...) {
            ++joins_not_timing_out;
          }
          children_ran += ran.load();
        }
      },
      hang_limit());
  EXPECT_EQ(not_cancelled_at_once, 0) << "of " << trials;
  EXPECT_EQ(children_ran, 0) << "of " << trials;
  EXPECT_EQ(joins_not_timing_out, 0) << "of " << trials;
}

// A fast child must not beat a deadline that passed before the join: join() checks it.
// On a worker the child runs inline in the join, before the timer thread can act.
TEST(deadline_join,
     join_throws_timeout_error_when_the_deadline_passed_although_every_child_finished) {
  cohort::scheduler s({.workers = 1, .name = "ca1"});
  const int trials = static_cast<int>(cohort_test::scaled(200, 50));
  int normal_returns = 0;
  with_watchdog(
      "join after a passed deadline",
      [&] {
        cohort::task_group top(s);
        auto top_task_1 = top.spawn([&] {
          for (int i = 0; i < trials; ++i) {
            cohort::task_group g({.name = "fast"});
            g.spawn([] {});
            g.cancel_after(0ns);
            try {
              g.join();
              ++normal_returns;
            } catch (const cohort::timeout_error&) {
            }
          }
        });
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit());
  EXPECT_EQ(normal_returns, 0) << "of " << trials << " joins returned normally";
}

// Several threads join one failing group at once; each gets the task_group_error or a
// std::logic_error, never a normal return (that would lose the failure for that caller).
TEST(deadline_join, concurrent_joins_never_return_normally_from_a_failed_group) {
  cohort::scheduler s({.workers = 2, .name = "cj"});
  const int trials = static_cast<int>(cohort_test::scaled(200, 40));
  constexpr int joiners = 4;
  std::atomic<int> normal{0}, group_errors{0}, logic_errors{0}, other{0};
  with_watchdog(
      "concurrent joins",
      [&] {
        for (int i = 0; i < trials; ++i) {
          cohort::task_group g(s, {.name = "failing"});
          cohort_test::gate go;
          g.spawn([&] {
            go.wait(hang_limit());
            std::this_thread::sleep_for(1ms);
            throw cohort_test::boom("child failed");
          });
          std::vector<std::thread> threads;
          std::atomic<int> ready{0};
          for (int k = 0; k < joiners; ++k)
            threads.emplace_back([&] {
              ready.fetch_add(1);
              EXPECT_TRUE(go.wait(hang_limit())) << "the start gate never opened";
              try {
                g.join();
                normal.fetch_add(1);
              } catch (const cohort::task_group_error&) {
                group_errors.fetch_add(1);
              } catch (const std::logic_error&) {
                logic_errors.fetch_add(1);
              } catch (...) {
                other.fetch_add(1);
              }
            });
          EXPECT_TRUE(
              cohort_test::eventually([&] { return ready.load() == joiners; }, hang_limit()))
              << "the joiner threads never started";
          go.open();
          for (auto& t : threads) t.join();
        }
      },
      hang_limit() * 2);
  EXPECT_EQ(normal.load(), 0) << "normal returns; task_group_error: " << group_errors
                              << ", logic_error: " << logic_errors << ", other: " << other;
  EXPECT_GE(group_errors.load(), trials) << "every trial reports the failure at least once";
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
