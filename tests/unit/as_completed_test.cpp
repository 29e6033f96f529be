// SPDX-License-Identifier: Apache-2.0
// as_completed (asyncio.as_completed over task handles): every task yielded once, in
// completion order, with and without a timeout, from inside a worker. wait is in
// wait_test.cpp.
//
// Determinism: where the order of completion matters, tasks are held on gates the test
// opens one by one, so the order never depends on timing. Timeouts are only checked from
// below (a timeout never fires early); nothing asserts how fast anything runs.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <numeric>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort_test::boom;
using cohort_test::gate;  // a task holds on it (pass) until the test opens it
using cohort_test::poll_until;

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using idx = std::vector<std::size_t>;

// ===== as_completed =====================================================================

TEST(as_completed, yields_every_task_once_in_completion_order_by_sleeps) {
  // One worker per task; sleeps far apart. Order 1, 2, 0.
  cohort::scheduler s({.workers = 4, .name = "ac"});
  const auto unit = cohort_test::under_tsan ? 100ms : 50ms;
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([unit] {
    std::this_thread::sleep_for(unit / 5 + 2 * unit);
    return 0;
  }));
  tasks.push_back(g.spawn([unit] {
    std::this_thread::sleep_for(unit / 5);
    return 1;
  }));
  tasks.push_back(g.spawn([unit] {
    std::this_thread::sleep_for(unit / 5 + unit);
    return 2;
  }));
  std::vector<int> order;
  for (auto& t : cohort::as_completed(tasks)) {
    EXPECT_TRUE(t.done());
    order.push_back(t.get());
  }
  EXPECT_EQ(order, (std::vector<int>{1, 2, 0}));
  g.join();
}

TEST(as_completed, yields_in_completion_order_with_gates) {
  cohort::scheduler s({.workers = 4, .name = "ac"});
  gate gates[3];
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  for (int i = 0; i < 3; ++i)
    tasks.push_back(g.spawn([&, i] {
      gates[i].pass();
      return i;
    }));
  // Completion order 2, 0, 1: each step opens the gate of the next.
  const int order_wanted[] = {2, 0, 1};
  gates[2].open();
  std::vector<int> order;
  for (auto& t : cohort::as_completed(tasks)) {
    order.push_back(t.get());
    if (order.size() < 3) gates[order_wanted[order.size()]].open();
  }
  EXPECT_EQ(order, (std::vector<int>{2, 0, 1}));
  g.join();
}

TEST(as_completed, many_tasks_each_yielded_exactly_once) {
  cohort::scheduler s({.workers = 2, .name = "ac"});
  constexpr int n = 64;
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  for (int i = 0; i < n; ++i)
    tasks.push_back(g.spawn([i] {
      std::this_thread::sleep_for(std::chrono::microseconds((i * 37) % 500));
      return i;
    }));
  std::vector<int> seen;
  for (auto& t : cohort::as_completed(tasks)) seen.push_back(t.get());
  std::sort(seen.begin(), seen.end());
  std::vector<int> all(n);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(seen, all);
  g.join();
}

TEST(as_completed, tie_yields_indices_in_completion_order) {
  cohort::scheduler s({.workers = 4, .name = "ac"});
  gate ga, gb;
  cohort::task_group g(s);
  auto a = g.spawn([&] {
    ga.pass();
    return 1;
  });
  auto b = g.spawn([&] {
    gb.pass();
    return std::string("b");
  });
  auto c = g.spawn([] {});
  std::vector<std::size_t> order;
  for (std::size_t i : cohort::as_completed(std::tie(a, b, c))) {
    order.push_back(i);
    if (order.size() == 1) gb.open();
    if (order.size() == 2) ga.open();
  }
  EXPECT_EQ(order, (idx{2, 1, 0}));
  EXPECT_EQ(a.get(), 1);
  EXPECT_EQ(b.get(), "b");
  g.join();
}

TEST(as_completed, timeout_throws_timeout_error_at_the_deadline) {
  cohort::scheduler s({.workers = 3, .name = "ac"});
  gate g0;
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([&] {
    g0.pass();
    return 0;
  }));
  tasks.push_back(g.spawn([] { return 1; }));
  std::vector<int> got;
  const auto start = clock_type::now();
  try {
    for (auto& t : cohort::as_completed(tasks, 60ms)) got.push_back(t.get());
    ADD_FAILURE() << "as_completed ended without a timeout";
  } catch (const cohort::timeout_error&) {
    EXPECT_GE(clock_type::now() - start, 60ms) << "timeout_error before the deadline";
  }
  EXPECT_EQ(got, (std::vector<int>{1}));
  EXPECT_FALSE(tasks[0].done()) << "as_completed must not cancel what is pending";
  g0.open();
  EXPECT_EQ(tasks[0].get(), 0);
  g.join();
}

TEST(as_completed, timeout_that_does_not_fire) {
  cohort::scheduler s({.workers = 2, .name = "ac"});
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(g.spawn([i] { return i; }));
  int count = 0;
  for (auto& t : cohort::as_completed(tasks, 30s)) {
    (void)t.get();
    ++count;
  }
  EXPECT_EQ(count, 4);
  g.join();
}

TEST(as_completed, tie_with_timeout_throws) {
  cohort::scheduler s({.workers = 2, .name = "ac"});
  gate ga;
  cohort::task_group g(s);
  auto a = g.spawn([&] {
    ga.pass();
    return 1;
  });
  auto b = g.spawn([] { return 2.0; });
  std::vector<std::size_t> order;
  EXPECT_THROW(
      {
        for (std::size_t i : cohort::as_completed(std::tie(a, b), 40ms)) order.push_back(i);
      },
      cohort::timeout_error);
  EXPECT_EQ(order, (idx{1}));
  ga.open();
  g.join();
}

TEST(as_completed, yields_failed_and_cancelled_tasks_too) {
  cohort::scheduler s({.workers = 2, .name = "ac"});
  cohort::task_group g(
      s, {.on_failure = cohort::failure_policy::keep_going, .max_concurrency = 0, .name = "kg"});
  gate g2;
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([] { return 0; }));
  tasks.push_back(g.spawn([]() -> int { throw boom("one"); }));
  tasks.push_back(g.spawn([&] {
    g2.pass();
    return 2;
  }));
  tasks[2].cancel();
  int ok = 0, failed = 0, cancelled = 0;
  for (auto& t : cohort::as_completed(tasks)) {
    try {
      t.get();
      ++ok;
    } catch (const boom&) {
      ++failed;
    } catch (const cohort::task_cancelled&) {
      ++cancelled;
    }
    if (ok + failed + cancelled == 1) g2.open();
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(cancelled, 1);
  EXPECT_THROW(g.join(), cohort::task_group_error);
}

TEST(as_completed, from_inside_a_worker_on_one_worker) {
  cohort::scheduler s({.workers = 1, .name = "ac1"});
  cohort::task_group g(s);
  auto t = g.spawn([] {
    cohort::task_group inner;
    std::vector<cohort::task<int>> tasks;
    for (int i = 0; i < 6; ++i) tasks.push_back(inner.spawn([i] { return i + 1; }));
    int sum = 0, count = 0;
    for (auto& x : cohort::as_completed(tasks)) {
      sum += x.get();
      ++count;
    }
    inner.join();
    return sum * 100 + count;
  });
  g.join();
  EXPECT_EQ(t.get(), 21 * 100 + 6);
}

TEST(as_completed, timeout_from_inside_a_worker) {
  cohort::scheduler s({.workers = 2, .name = "ac2"});
  gate g0;
  std::atomic<bool> started{false};
  cohort::task_group g(s);
  auto t = g.spawn([&] {
    cohort::task_group inner;
    std::vector<cohort::task<int>> tasks;
    tasks.push_back(inner.spawn([&] {
      started = true;
      g0.pass();
      return 1;
    }));
    poll_until([&] { return started.load(); });
    bool timed_out = false;
    try {
      for (auto& x : cohort::as_completed(tasks, 30ms)) (void)x;
    } catch (const cohort::timeout_error&) {
      timed_out = true;
    }
    g0.open();
    inner.join();
    return timed_out;
  });
  g.join();
  EXPECT_TRUE(t.get());
}

}  // namespace
