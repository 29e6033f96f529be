// SPDX-License-Identifier: Apache-2.0
// task_group: cancelling one task, the task that owns a group, a task of another
// scheduler.
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

#include "task_group_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort::task_status;
using cohort_test::classify;
using cohort_test::eventually;
using cohort_test::gate;
using cohort_test::join_end;
using cohort_test::scaled;
using cohort_test::wait_for_stop;
using cohort_test::what_of;

// ---- Cancelling one task ---------------------------------------------------------------

TEST(task_group, cancelling_a_pending_task_skips_it_and_leaves_its_siblings_alone) {
  cohort::scheduler s({.workers = 1, .name = "tg1"});
  cohort::task_group g(s);
  gate release;
  std::atomic<bool> started{false};
  std::atomic<bool> victim_called{false};
  auto token = std::make_shared<int>(0);
  auto blocker = g.spawn([&] {
    started = true;
    EXPECT_TRUE(release.wait());
    return 1;
  });
  auto victim = g.spawn([&victim_called, token] {
    victim_called = true;
    return 2;
  });
  auto bystander = g.spawn([] { return 3; });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  ASSERT_EQ(victim.status(), task_status::pending);
  victim.cancel();
  release.open();
  EXPECT_NO_THROW(g.join());
  EXPECT_FALSE(victim_called.load());
  EXPECT_EQ(token.use_count(), 1) << "the skipped callable was not destroyed";
  EXPECT_EQ(victim.status(), task_status::cancelled);
  EXPECT_THROW(victim.get(), cohort::task_cancelled);
  EXPECT_EQ(blocker.get(), 1);
  EXPECT_EQ(bystander.get(), 3);
  EXPECT_FALSE(g.cancelled());
}

TEST(task_group, cancelling_a_running_task_requests_its_stop_token_only) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> victim_started{false};
  std::atomic<bool> victim_saw_stop{false};
  std::atomic<bool> victim_done{false};
  auto victim = g.spawn([&](std::stop_token st) {
    victim_started = true;
    victim_saw_stop = wait_for_stop(st);
    victim_done = true;
  });
  auto sibling = g.spawn([&](std::stop_token st) {
    EXPECT_TRUE(eventually([&] { return victim_done.load(); }));
    EXPECT_FALSE(st.stop_requested()) << "cancelling one task stopped its sibling";
    return 7;
  });
  ASSERT_TRUE(eventually([&] { return victim_started.load(); }));
  victim.cancel();
  EXPECT_NO_THROW(g.join());
  EXPECT_TRUE(victim_saw_stop.load());
  EXPECT_EQ(victim.status(), task_status::cancelled);
  EXPECT_EQ(sibling.status(), task_status::succeeded);
  EXPECT_EQ(sibling.get(), 7);
  EXPECT_FALSE(g.cancelled());
  EXPECT_FALSE(g.stop_token().stop_requested());
}

TEST(task_group, cancelling_a_finished_task_changes_nothing) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  auto t = g.spawn([] { return 5; });
  t.wait();
  t.cancel();
  g.join();
  EXPECT_EQ(t.status(), task_status::succeeded);
  EXPECT_EQ(t.get(), 5);
}

TEST(task_group, a_cancelled_childs_result_is_discarded_even_if_it_returns_normally) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> started{false};
  gate cancel_done;
  auto t = g.spawn([&] {
    started = true;
    EXPECT_TRUE(cancel_done.wait());  // ignores its token, returns a value regardless
    return std::make_shared<int>(99);
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  t.cancel();
  cancel_done.open();
  EXPECT_NO_THROW(g.join());
  EXPECT_EQ(t.status(), task_status::cancelled);
  EXPECT_THROW(t.get(), cohort::task_cancelled);
}

TEST(task_group, a_cancelled_childs_result_is_destroyed_when_discarded) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  auto payload = std::make_shared<int>(1);
  {
    cohort::task_group g(s);
    std::atomic<bool> started{false};
    gate cancel_done;
    auto t = g.spawn([&, payload] {
      started = true;
      EXPECT_TRUE(cancel_done.wait());
      return payload;  // a copy in the result slot
    });
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    t.cancel();
    cancel_done.open();
    g.join();
    EXPECT_EQ(t.status(), task_status::cancelled);
    EXPECT_EQ(payload.use_count(), 1) << "the discarded result (or the callable) is still alive";
  }
}

TEST(task_group, a_child_that_fails_after_its_cancellation_is_failed_and_reported) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> started{false};
  auto t = g.spawn([&](std::stop_token st) {
    started = true;
    EXPECT_TRUE(wait_for_stop(st));
    throw std::runtime_error("cleanup failed");
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  t.cancel();
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(what_of(e.exceptions()[0]), "cleanup failed");
  }
  EXPECT_EQ(t.status(), task_status::failed);
  EXPECT_THROW(t.get(), std::runtime_error);
}

// ---- Cancelling the owner ------------------------------------------------------------

TEST(task_group, cancelling_the_task_that_owns_a_group_makes_its_join_throw_task_cancelled) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group outer(s);
  std::atomic<bool> joining{false};
  std::atomic<join_end> result{join_end::none};
  std::atomic<bool> sibling_saw_stop{false};
  auto owner = outer.spawn([&] {
    cohort::task_group inner;
    inner.spawn([](std::stop_token st) { EXPECT_TRUE(wait_for_stop(st)); });
    joining = true;
    result = classify(inner);
  });
  auto sibling = outer.spawn([&](std::stop_token st) {
    std::this_thread::sleep_for(30ms);
    sibling_saw_stop = st.stop_requested();
    return 1;
  });
  ASSERT_TRUE(eventually([&] { return joining.load(); }));
  owner.cancel();
  EXPECT_NO_THROW(outer.join());
  EXPECT_EQ(result.load(), join_end::cancelled);
  EXPECT_EQ(owner.status(), task_status::cancelled);
  EXPECT_FALSE(sibling_saw_stop.load());
  EXPECT_EQ(sibling.get(), 1);
}

TEST(task_group, a_nested_groups_stop_token_fires_with_the_enclosing_cancel) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group outer(s);
  std::atomic<bool> inner_token_fired{false};
  std::atomic<bool> ready{false};
  outer.spawn([&] {
    cohort::task_group inner;
    auto st = inner.stop_token();
    EXPECT_FALSE(st.stop_requested());
    ready = true;
    inner_token_fired = wait_for_stop(st);
    EXPECT_TRUE(inner.cancelled());
    inner.join();  // no children: nothing to wait for, but the enclosing cancel is reported
  });
  ASSERT_TRUE(eventually([&] { return ready.load(); }));
  outer.cancel();
  EXPECT_NO_THROW(outer.join());
  EXPECT_TRUE(inner_token_fired.load());
}

TEST(task_group, cancelling_a_task_of_scheduler_b_cancels_its_group_on_scheduler_a) {
  cohort::scheduler a({.workers = 2, .name = "sa"});
  cohort::scheduler b({.workers = 1, .name = "sb"});
  std::atomic<bool> joining{false};
  std::atomic<join_end> result{join_end::none};
  cohort::task_group on_b(b);
  auto t = on_b.spawn([&] {
    cohort::task_group on_a(a);
    on_a.spawn([](std::stop_token st) { EXPECT_TRUE(wait_for_stop(st)); });
    joining = true;
    result = classify(on_a);
  });
  ASSERT_TRUE(eventually([&] { return joining.load(); }));
  t.cancel();
  on_b.join();
  EXPECT_EQ(result.load(), join_end::cancelled);
}

}  // namespace
