// SPDX-License-Identifier: Apache-2.0
// task_group: max_concurrency.
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

// ---- max_concurrency ---------------------------------------------------------------------

TEST(task_group, max_concurrency_never_runs_more_than_n_children_at_once) {
  cohort::scheduler s({.workers = 4, .name = "mc"});
  for (std::size_t limit : {1u, 2u, 3u}) {
    cohort::task_group g(s, {.max_concurrency = limit});
    std::atomic<int> running{0};
    std::atomic<int> peak{0};
    std::atomic<int> finished{0};
    for (int i = 0; i < 40; ++i) {
      g.spawn([&] {
        cohort_test::atomic_max(peak, running.fetch_add(1) + 1);
        std::this_thread::sleep_for(500us);
        running.fetch_sub(1);
        finished.fetch_add(1);
      });
    }
    g.join();
    EXPECT_EQ(finished.load(), 40);
    EXPECT_LE(peak.load(), static_cast<int>(limit)) << "limit " << limit;
    EXPECT_GE(peak.load(), 1);
  }
}

TEST(task_group, max_concurrency_spawn_never_blocks) {
  cohort::scheduler s({.workers = 2, .name = "mc"});
  cohort::task_group g(s, {.max_concurrency = 1});
  gate release;
  std::atomic<int> finished{0};
  g.spawn([&] {
    EXPECT_TRUE(release.wait()) << "spawn blocked while the only slot was taken";
    finished.fetch_add(1);
  });
  for (int i = 0; i < 20; ++i) g.spawn([&] { finished.fetch_add(1); });  // must all return now
  release.open();
  g.join();
  EXPECT_EQ(finished.load(), 21);
}

TEST(task_group, max_concurrency_queued_children_are_skipped_after_a_failure) {
  cohort::scheduler s({.workers = 2, .name = "mc"});
  cohort::task_group g(s, {.max_concurrency = 1});
  std::atomic<int> called{0};
  gate fail_now;
  g.spawn([&] {
    EXPECT_TRUE(fail_now.wait());
    throw std::runtime_error("x");
  });
  std::vector<cohort::task<void>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(g.spawn([&] { called.fetch_add(1); }));
  fail_now.open();
  EXPECT_THROW(g.join(), cohort::task_group_error);
  EXPECT_EQ(called.load(), 0);
  for (auto& t : queued) EXPECT_EQ(t.status(), task_status::cancelled);
}

TEST(task_group, max_concurrency_holds_for_children_spawned_from_inside_the_pool) {
  cohort::scheduler s({.workers = 4, .name = "mc"});
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::atomic<int> finished{0};
  cohort::task_group outer(s);
  outer.spawn([&] {
    cohort::task_group g({.max_concurrency = 2});
    for (int i = 0; i < 30; ++i) {
      g.spawn([&] {
        cohort_test::atomic_max(peak, running.fetch_add(1) + 1);
        std::this_thread::sleep_for(300us);
        running.fetch_sub(1);
        finished.fetch_add(1);
      });
    }
    g.join();
  });
  outer.join();
  EXPECT_EQ(finished.load(), 30);
  EXPECT_LE(peak.load(), 2);
}

}  // namespace
