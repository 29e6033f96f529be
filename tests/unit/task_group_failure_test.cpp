// SPDX-License-Identifier: Apache-2.0
// task_group: the first failure cancels the siblings, and every failure is reported.
//
// The task_group tests, one file per concept (API.md, "Semantics that must hold"):
//   task_group_spawn_test             nothing is lost; a finished group takes no more work;
//                                     where groups are used from
//   task_group_failure_test           the first failure cancels the siblings; every failure
//                                     is reported
//   task_group_cancel_test            cancelling one task, its group's owner, a task of
//                                     another scheduler
//   task_group_join_test              how join() ends, deadlines, the destructor, scope()
//   task_group_max_concurrency_test   max_concurrency
//   task_group_wait_test              waits inside workers never deadlock; self-waits
// Races looped many times live in stress/task_group_stress_test.cpp.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort::task_status;
using cohort_test::eventually;
using cohort_test::gate;
using cohort_test::scaled;
using cohort_test::wait_for_stop;
using cohort_test::what_of;

// ---- First failure cancels the siblings ------------------------------------------------

TEST(task_group,
     first_failure_skips_unstarted_siblings_never_calling_them_and_destroys_their_callables) {
  cohort::scheduler s({.workers = 1, .name = "tg1"});  // one worker: the siblings must wait
  auto token = std::make_shared<int>(0);
  std::atomic<int> called{0};
  gate fail_now;
  std::atomic<bool> started{false};
  cohort::task_group g(s);
  auto first = g.spawn([&] {
    started = true;
    EXPECT_TRUE(fail_now.wait());
    throw std::runtime_error("first failure");
  });
  std::vector<cohort::task<int>> siblings;
  for (int i = 0; i < 8; ++i) {
    siblings.push_back(g.spawn([&called, token, i] {
      called.fetch_add(1);
      return i + *token;
    }));
  }
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  EXPECT_EQ(token.use_count(), 9) << "each queued sibling holds its callable";
  fail_now.open();
  // The failure first: join would run the siblings left on this thread's deque.
  EXPECT_TRUE(eventually([&] { return g.cancelled(); }));
  EXPECT_THROW(g.join(), cohort::task_group_error);
  EXPECT_EQ(called.load(), 0) << "a sibling started after the first failure";
  EXPECT_EQ(token.use_count(), 1) << "skipped callables were not destroyed";
  EXPECT_EQ(first.status(), task_status::failed);
  for (auto& t : siblings) {
    EXPECT_EQ(t.status(), task_status::cancelled);
    EXPECT_THROW(t.get(), cohort::task_cancelled);
  }
  EXPECT_TRUE(g.cancelled());
}

TEST(task_group, first_failure_requests_stop_on_running_siblings) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  std::atomic<bool> runner_started{false};
  std::atomic<bool> runner_saw_stop{false};
  cohort::task_group g(s);
  auto runner = g.spawn([&](std::stop_token st) {
    runner_started = true;
    runner_saw_stop = wait_for_stop(st);
    return 1;  // returns normally after the cancel: the value is discarded
  });
  auto failer = g.spawn([&] {
    EXPECT_TRUE(eventually([&] { return runner_started.load(); }));
    throw std::runtime_error("boom");
  });
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u) << "a sibling that only observed the cancel is no failure";
    EXPECT_EQ(what_of(e.exceptions()[0]), "boom");
  }
  EXPECT_TRUE(runner_saw_stop.load());
  EXPECT_EQ(runner.status(), task_status::cancelled);
  EXPECT_THROW(runner.get(), cohort::task_cancelled);
  EXPECT_EQ(failer.status(), task_status::failed);
}

TEST(task_group, first_failure_cancels_groups_nested_inside_running_siblings) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  std::atomic<bool> grandchild_started{false};
  std::atomic<bool> grandchild_saw_stop{false};
  std::atomic<bool> nested_join_cancelled{false};
  cohort::task_group g(s);
  auto holder = g.spawn([&] {
    cohort::task_group inner;
    inner.spawn([&](std::stop_token st) {
      grandchild_started = true;
      grandchild_saw_stop = wait_for_stop(st);
    });
    try {
      inner.join();
    } catch (const cohort::task_cancelled&) {
      nested_join_cancelled = true;
      throw;
    }
  });
  g.spawn([&] {
    EXPECT_TRUE(eventually([&] { return grandchild_started.load(); }));
    throw std::runtime_error("boom");
  });
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    EXPECT_EQ(e.exceptions().size(), 1u);
  }
  EXPECT_TRUE(grandchild_saw_stop.load());
  EXPECT_TRUE(nested_join_cancelled.load());
  EXPECT_EQ(holder.status(), task_status::cancelled);
}

TEST(task_group, keep_going_lets_every_child_run_to_the_end) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  constexpr int n = 12;
  std::vector<std::atomic<bool>> finished(n);
  std::atomic<int> stops_seen{0};
  cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going});
  for (int i = 0; i < n; ++i) {
    g.spawn([&, i](std::stop_token st) {
      if (i < 3) throw std::runtime_error("early " + std::to_string(i));
      std::this_thread::sleep_for(3ms);
      if (st.stop_requested()) stops_seen.fetch_add(1);
      finished[i] = true;
    });
  }
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    EXPECT_EQ(e.exceptions().size(), 3u);
  }
  for (int i = 3; i < n; ++i) EXPECT_TRUE(finished[i].load()) << "child " << i;
  EXPECT_EQ(stops_seen.load(), 0);
  EXPECT_FALSE(g.cancelled());
}

// ---- Every failure is reported --------------------------------------------------------

TEST(task_group, every_failure_is_reported_in_spawn_order_in_one_error) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going});
  std::atomic<bool> late_failed{false};
  g.spawn([] {}, {.name = "fetch-0"});
  g.spawn(
      [&] {
        // Fails last in time, first in spawn order.
        EXPECT_TRUE(eventually([&] { return late_failed.load(); }));
        std::this_thread::sleep_for(5ms);
        throw std::runtime_error("reset");
      },
      {.name = "fetch-1"});
  g.spawn([] {}, {.name = "fetch-2"});
  g.spawn(
      [&] {
        late_failed = true;
        throw std::runtime_error("timeout");
      },
      {.name = "fetch-3"});
  g.spawn([] {}, {.name = "fetch-4"});
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 2u);
    EXPECT_EQ(what_of(e.exceptions()[0]), "reset");
    EXPECT_EQ(what_of(e.exceptions()[1]), "timeout");
    EXPECT_STREQ(e.what(), "2 of 5 tasks failed; first: fetch-1: reset");
  }
}

TEST(task_group, concurrent_failures_under_cancel_siblings_are_all_reported) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<int> arrived{0};
  for (int i = 0; i < 2; ++i) {
    g.spawn([&arrived, i] {
      arrived.fetch_add(1);
      // Both are running before either fails: neither is skipped.
      EXPECT_TRUE(eventually([&] { return arrived.load() == 2; }));
      throw std::runtime_error("fail " + std::to_string(i));
    });
  }
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 2u);
    EXPECT_EQ(what_of(e.exceptions()[0]), "fail 0");
    EXPECT_EQ(what_of(e.exceptions()[1]), "fail 1");
  }
}

TEST(task_group, error_message_of_an_unnamed_single_failure) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going});
  g.spawn([] {});
  g.spawn([] { throw std::runtime_error("boom"); });
  g.spawn([] {});
  try {
    g.join();
    FAIL();
  } catch (const cohort::task_group_error& e) {
    EXPECT_STREQ(e.what(), "1 of 3 tasks failed; first: boom");
  }
}

TEST(task_group, a_child_that_throws_task_cancelled_is_not_a_failure) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> sibling_finished{false};
  auto quitter = g.spawn([]() -> int { throw cohort::task_cancelled(); });
  g.spawn([&](std::stop_token st) {
    std::this_thread::sleep_for(10ms);
    EXPECT_FALSE(st.stop_requested()) << "task_cancelled from one child cancelled its siblings";
    sibling_finished = true;
  });
  EXPECT_NO_THROW(g.join());
  EXPECT_TRUE(sibling_finished.load());
  EXPECT_EQ(quitter.status(), task_status::cancelled);
  EXPECT_THROW(quitter.get(), cohort::task_cancelled);
  EXPECT_FALSE(g.cancelled());
}

TEST(task_group, a_child_throwing_a_non_std_exception_is_carried_and_reported) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  auto t = g.spawn([]() -> int { throw 42; }, {.name = "int-thrower"});
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    try {
      std::rethrow_exception(e.exceptions()[0]);
    } catch (int v) {
      EXPECT_EQ(v, 42);
    } catch (...) {
      ADD_FAILURE() << "the int was not carried as is";
    }
    const std::string what = e.what();
    EXPECT_NE(what.find("1 of 1 task"), std::string::npos) << what;
    EXPECT_NE(what.find("int-thrower"), std::string::npos) << what;
    EXPECT_NE(what.find("42"), std::string::npos) << what;
  }
  EXPECT_EQ(t.status(), task_status::failed);
  try {
    t.get();
    ADD_FAILURE() << "get() returned";
  } catch (int v) {
    EXPECT_EQ(v, 42);
  }
}

}  // namespace
