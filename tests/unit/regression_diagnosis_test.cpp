// SPDX-License-Identifier: Apache-2.0
// Regression tests for issue 9, item 11: hang diagnosis.
//
// - dump() showed only a worker's innermost frame, so a nested wait read inverted
//   ("running db-query-37 ... inside it waiting on join of ..."): it must show the whole
//   stack of suspended tasks per worker, outermost first.
// - The watchdog stayed silent while other work flowed, even with one task running for
//   ever: a per-task "running longer than D" report is wanted.
// - An unparseable COHORT_WATCHDOG value was ignored silently: it must warn.
//
// The exact wording is the implementer's choice, so these assert loosely: the names
// appear, in the right order, in the right section; stderr mentions COHORT_WATCHDOG.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort_test::hang_limit;
using cohort_test::poll_until;
using cohort_test::with_watchdog;

// The part of a dump() about worker `w`: from its line in "workers:" to the next worker
// or section.
std::string worker_section(const std::string& dump, int w) {
  const std::size_t workers = dump.find("workers:");
  if (workers == std::string::npos) return {};
  const std::string head = "worker " + std::to_string(w) + " ";
  const std::size_t start = dump.find(head, workers);
  if (start == std::string::npos) return {};
  std::size_t end = dump.find("\n  worker ", start + 1);
  const std::size_t blocked = dump.find("threads blocked", start);
  if (end == std::string::npos || (blocked != std::string::npos && blocked < end)) end = blocked;
  return dump.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(diagnosis, dump_shows_every_suspended_task_of_a_worker_outermost_first) {
  cohort::scheduler s({.workers = 1, .name = "diag"});
  cohort_test::gate release;
  std::atomic<bool> inner_started{false};
  std::string d, section;
  bool seen = false;
  with_watchdog(
      "a nested wait shown by dump()",
      [&] {
        cohort::task_group top(s, {.name = "server"});
        auto top_task_1 = top.spawn(
            [&] {
              cohort::task_group db({.name = "db-pool"});
              db.spawn(
                  [&] {
                    inner_started = true;
                    poll_until([&] { return release.is_open(); }, hang_limit());
                  },
                  {.name = "db-query-37"});
              db.join();  // runs db-query-37 on top of request-37 (one worker)
            },
            {.name = "request-37"});
        seen = poll_until(
            [&] {
              if (!inner_started) return false;
              d = s.dump();
              section = worker_section(d, 0);
              return section.find("db-query-37") != std::string::npos;
            },
            hang_limit());
        release.open();
        // On the workers, not in this thread's join (test_support.hpp, ended()).
        EXPECT_TRUE(cohort_test::ended(top_task_1));
        top.join();
      },
      hang_limit());
  ASSERT_TRUE(seen) << d;
  const std::size_t outer = section.find("request-37");
  const std::size_t inner = section.find("db-query-37");
  ASSERT_NE(outer, std::string::npos) << "worker 0 does not show the suspended outer task:\n" << d;
  EXPECT_LT(outer, inner) << "the outer task must come first:\n" << d;
  // The join that runs db-query-37 on top of request-37 takes the join's fast path
  // (worker::run_children_on_top): the outer frame must still say what it waits on.
  const std::size_t join = section.find("waiting on join of group 'db-pool'");
  ASSERT_NE(join, std::string::npos) << "the outer task's join is not shown:\n" << d;
  EXPECT_LT(outer, join) << d;
  EXPECT_LT(join, inner) << "the join must be shown between the two tasks:\n" << d;
}

// The long-task threshold is its own setting (COHORT_LONG_TASK, set_long_task_report):
// COHORT_WATCHDOG keeps its meaning (a stall while somebody waits).
void enable_long_task_report(cohort::scheduler& s, std::chrono::nanoseconds d) {
  s.set_long_task_report(d);
}

TEST(diagnosis, a_task_running_longer_than_the_threshold_is_reported_while_other_work_flows) {
  cohort::scheduler s({.workers = 2, .name = "longrun"});
  enable_long_task_report(s, 200ms);
  ::testing::internal::CaptureStderr();
  with_watchdog(
      "a long task among flowing work",
      [&] {
        cohort::task_group g(s, {.name = "mixed"});
        const auto until = std::chrono::steady_clock::now() + 1000ms;
        g.spawn(
            [&] {
              while (std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
            },
            {.name = "long-runner"});
        g.spawn(
            [&] {
              // Other work keeps finishing, so the stall watchdog alone stays silent.
              while (std::chrono::steady_clock::now() < until)
                cohort::gather([] { std::this_thread::sleep_for(2ms); },
                               [] { std::this_thread::sleep_for(2ms); });
            },
            {.name = "flowing"});
        g.join();
      },
      hang_limit());
  enable_long_task_report(s, 0ns);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("long-runner"), std::string::npos)
      << "no report names the task that ran for 1 s (threshold 200 ms); stderr:\n"
      << err;
}

TEST(diagnosis, an_unparseable_cohort_watchdog_value_is_warned_about) {
  std::string bad_err, good_err;
  {
    ::setenv("COHORT_WATCHDOG", "soon-ish", 1);
    ::testing::internal::CaptureStderr();
    { cohort::scheduler s({.workers = 1, .name = "badenv"}); }
    bad_err = ::testing::internal::GetCapturedStderr();
  }
  {
    ::setenv("COHORT_WATCHDOG", "250ms", 1);
    ::testing::internal::CaptureStderr();
    { cohort::scheduler s({.workers = 1, .name = "goodenv"}); }
    good_err = ::testing::internal::GetCapturedStderr();
  }
  ::unsetenv("COHORT_WATCHDOG");
  EXPECT_NE(bad_err.find("COHORT_WATCHDOG"), std::string::npos)
      << "no warning for COHORT_WATCHDOG=soon-ish; stderr: '" << bad_err << "'";
  EXPECT_EQ(good_err.find("COHORT_WATCHDOG"), std::string::npos)
      << "a valid value must not warn; stderr: '" << good_err << "'";
}

}  // namespace
