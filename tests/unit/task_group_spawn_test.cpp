// SPDX-License-Identifier: Apache-2.0
// task_group: nothing is lost, a finished group takes no more work, and where groups
// are used from (threads outside the pool, other schedulers).
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
#include <pthread.h>

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

// ---- Nothing is lost ----------------------------------------------------------------

TEST(task_group, join_never_returns_while_a_child_runs) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  constexpr int n = 24;
  std::vector<std::atomic<bool>> finished(n);
  cohort::task_group g(s);
  for (int i = 0; i < n; ++i) {
    g.spawn([&finished, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + i % 5));
      finished[i].store(true, std::memory_order_relaxed);
    });
  }
  g.join();
  for (int i = 0; i < n; ++i)
    EXPECT_TRUE(finished[i].load(std::memory_order_relaxed)) << "child " << i;
}

TEST(task_group, every_child_ends_in_exactly_one_final_state) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going});
  std::vector<cohort::task<int>> tasks;
  for (int i = 0; i < 30; ++i) {
    tasks.push_back(g.spawn([i]() -> int {
      if (i % 3 == 1) throw std::runtime_error("odd one");
      if (i % 3 == 2) throw cohort::task_cancelled();
      return i;
    }));
  }
  EXPECT_THROW(g.join(), cohort::task_group_error);
  for (int i = 0; i < 30; ++i) {
    auto& t = tasks[i];
    ASSERT_TRUE(t.done());
    switch (i % 3) {
      case 0:
        EXPECT_EQ(t.status(), task_status::succeeded);
        EXPECT_EQ(t.get(), i);
        EXPECT_EQ(t.exception(), nullptr);
        break;
      case 1:
        EXPECT_EQ(t.status(), task_status::failed);
        EXPECT_THROW(t.get(), std::runtime_error);
        EXPECT_NE(t.exception(), nullptr);
        break;
      case 2:
        EXPECT_EQ(t.status(), task_status::cancelled);
        EXPECT_THROW(t.get(), cohort::task_cancelled);
        EXPECT_EQ(t.exception(), nullptr);
        break;
    }
  }
}

TEST(task_group, task_status_moves_from_pending_to_running_to_succeeded) {
  cohort::scheduler s({.workers = 1, .name = "tg1"});
  cohort::task_group g(s);
  gate release;
  std::atomic<bool> started{false};
  auto a = g.spawn(
      [&] {
        started = true;
        EXPECT_TRUE(release.wait());
        return 1;
      },
      {.name = "blocker"});
  auto b = g.spawn([] { return 2; }, {.name = "queued"});
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  EXPECT_EQ(a.status(), task_status::running);
  EXPECT_EQ(b.status(), task_status::pending);
  EXPECT_FALSE(a.done());
  EXPECT_FALSE(b.done());
  EXPECT_FALSE(b.wait_for(10ms));
  EXPECT_EQ(a.name(), "blocker");
  EXPECT_EQ(b.name(), "queued");
  release.open();
  EXPECT_TRUE(b.wait_for(cohort_test::patience()));
  g.join();
  EXPECT_EQ(a.status(), task_status::succeeded);
  EXPECT_EQ(b.status(), task_status::succeeded);
  EXPECT_EQ(a.get() + b.get(), 3);
}

TEST(task_group, dropping_a_task_handle_neither_cancels_nor_loses_the_child) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  std::atomic<int> finished{0};
  cohort::task_group g(s);
  for (int i = 0; i < 10; ++i) {
    auto t = g.spawn([&finished] {
      std::this_thread::sleep_for(5ms);
      finished.fetch_add(1);
      return std::string(100, 'x');  // a result nobody will read
    });
    (void)t;  // dropped right here, while the child is queued or running
  }
  g.spawn([&finished] { finished.fetch_add(1); });  // never bound to a handle at all
  g.join();
  EXPECT_EQ(finished.load(), 11);
}

TEST(task_group, a_failure_of_a_child_whose_handle_was_dropped_is_still_reported) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  g.spawn([] { throw std::runtime_error("nobody holds me"); }, {.name = "orphan"});
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(what_of(e.exceptions()[0]), "nobody holds me");
    EXPECT_NE(std::string(e.what()).find("orphan"), std::string::npos) << e.what();
  }
}

// A result whose destructor takes a while and touches the joiner's frame.
struct slow_to_destroy {
  std::atomic<int>* destroyed;
  explicit slow_to_destroy(std::atomic<int>* d) : destroyed(d) {}
  slow_to_destroy(slow_to_destroy&& o) noexcept : destroyed(std::exchange(o.destroyed, nullptr)) {}
  ~slow_to_destroy() {
    if (destroyed == nullptr) return;
    std::this_thread::sleep_for(50ms);
    destroyed->fetch_add(1);
  }
};

TEST(task_group, join_returns_only_after_the_results_of_dropped_handles_are_destroyed) {
  // The result of a child nobody holds a handle to is destroyed by the run itself. That
  // destruction is the child's own code (a result may hold references into the joiner's
  // frame, like this one), so join must not return before it ended.
  cohort::scheduler s({.workers = 2, .name = "tg"});
  auto destroyed = std::make_unique<std::atomic<int>>(0);
  {
    cohort::task_group g(s);
    for (int i = 0; i < 2; ++i) g.spawn([d = destroyed.get()] { return slow_to_destroy(d); });
    g.join();
    EXPECT_EQ(destroyed->load(), 2)
        << "join returned while a dropped result was still being destroyed";
  }
  // Before freeing what the results point into, let any late destructor finish.
  eventually([&] { return destroyed->load() == 2; });
}

TEST(task_group, join_returns_only_after_every_callable_is_destroyed) {
  // Captures are part of the child: their destructors run before the child counts as
  // ended, whether it ran, was skipped, or its handle was dropped.
  struct slow_capture {
    std::atomic<int>* destroyed;
    explicit slow_capture(std::atomic<int>* d) : destroyed(d) {}
    slow_capture(slow_capture&& o) noexcept : destroyed(std::exchange(o.destroyed, nullptr)) {}
    ~slow_capture() {
      if (destroyed == nullptr) return;
      std::this_thread::sleep_for(20ms);
      destroyed->fetch_add(1);
    }
  };
  cohort::scheduler s({.workers = 2, .name = "tg"});
  std::atomic<int> destroyed{0};
  {
    cohort::task_group g(s);
    g.spawn([c = slow_capture(&destroyed)] {});
    auto kept = g.spawn([c = slow_capture(&destroyed)] { return 1; });
    auto skipped = g.spawn([c = slow_capture(&destroyed)] {});
    skipped.cancel();
    g.join();
    EXPECT_EQ(destroyed.load(), 3);
  }
}

TEST(task_group, results_stay_readable_after_the_group_is_destroyed) {
  cohort::task<std::vector<int>> t;
  cohort::task<void> v;
  {
    cohort::scheduler s({.workers = 2, .name = "tg"});
    cohort::task_group g(s);
    t = g.spawn([] { return std::vector<int>{1, 2, 3}; });
    v = g.spawn([] {});
    g.join();
  }  // group and scheduler gone
  EXPECT_EQ(t.get(), (std::vector<int>{1, 2, 3}));
  EXPECT_NO_THROW(v.get());
  EXPECT_EQ(std::move(t).get().size(), 3u);
}

// ---- A finished group takes no more work -------------------------------------------------

TEST(task_group, spawn_after_join_throws_logic_error_with_a_clear_message) {
  cohort::scheduler s({.workers = 2, .name = "fin"});
  cohort::task_group g(s, {.name = "done-group"});
  g.spawn([] {});
  g.join();
  try {
    g.spawn([] { ADD_FAILURE() << "ran after join"; });
    FAIL() << "spawn after join was accepted";
  } catch (const std::logic_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("joined"), std::string::npos) << what;
    EXPECT_NE(what.find("done-group"), std::string::npos) << what;
  }
  EXPECT_THROW(g.join(), std::logic_error) << "a second join";
}

TEST(task_group, spawn_after_a_join_that_threw_throws_logic_error) {
  cohort::scheduler s({.workers = 2, .name = "fin"});
  cohort::task_group g(s);
  g.spawn([] { throw std::runtime_error("x"); });
  EXPECT_THROW(g.join(), cohort::task_group_error);
  EXPECT_THROW(g.spawn([] {}), std::logic_error);
}

TEST(task_group, get_on_a_moved_from_handle_throws_logic_error) {
  cohort::scheduler s({.workers = 2, .name = "fin"});
  cohort::task_group g(s);
  auto a = g.spawn([] { return 1; });
  auto b = std::move(a);
  EXPECT_THROW(a.get(), std::logic_error);
  EXPECT_THROW(a.wait(), std::logic_error);
  EXPECT_THROW(a.cancel(), std::logic_error);
  EXPECT_FALSE(a.valid());
  cohort::task<int> empty;
  EXPECT_THROW(empty.get(), std::logic_error);
  g.join();
  EXPECT_EQ(b.get(), 1);
  cohort::task<int> c;
  c = std::move(b);
  EXPECT_THROW(b.get(), std::logic_error);
  EXPECT_EQ(c.get(), 1);
}

// ---- Where groups are used from ---------------------------------------------------------------

TEST(task_group, children_spawning_siblings_into_their_own_group_are_all_joined) {
  cohort::scheduler s({.workers = 2, .name = "tree"});
  std::atomic<int> ran{0};
  cohort::task_group g(s);
  // A binary tree of depth 10 spawned into one group, each node by its parent.
  std::function<void(int)> node = [&](int depth) {
    ran.fetch_add(1, std::memory_order_relaxed);
    if (depth == 0) return;
    g.spawn([&node, depth] { node(depth - 1); });
    g.spawn([&node, depth] { node(depth - 1); });
  };
  g.spawn([&node] { node(10); });
  g.join();
  EXPECT_EQ(ran.load(), (1 << 11) - 1);
}

TEST(task_group, groups_work_from_threads_outside_the_pool) {
  cohort::scheduler s({.workers = 2, .name = "ext"});
  constexpr int threads_n = 4;
  const int per = static_cast<int>(scaled(2'000, 300));
  std::vector<long> sums(threads_n, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      cohort::task_group g(s);
      std::vector<cohort::task<long>> tasks;
      for (int i = 0; i < per; ++i) tasks.push_back(g.spawn([i] { return static_cast<long>(i); }));
      g.join();
      for (auto& x : tasks) sums[t] += x.get();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < threads_n; ++t) EXPECT_EQ(sums[t], static_cast<long>(per) * (per - 1) / 2);
}

TEST(task_group, a_group_on_scheduler_a_works_from_a_task_of_scheduler_b) {
  cohort::scheduler a({.workers = 2, .name = "sa"});
  cohort::scheduler b({.workers = 1, .name = "sb"});
  std::vector<std::string> where;
  cohort_test::with_watchdog("cross-scheduler group", [&] {
    cohort::task_group on_b(b);
    auto t = on_b.spawn([&a] {
      cohort::task_group on_a(a);
      std::vector<cohort::task<std::string>> names;
      for (int i = 0; i < 8; ++i) {
        names.push_back(on_a.spawn([] {
          char buf[32] = {};
          pthread_getname_np(pthread_self(), buf, sizeof buf);
          std::this_thread::sleep_for(1ms);
          return std::string(buf);
        }));
      }
      on_a.join();
      std::vector<std::string> out;
      for (auto& n : names) out.push_back(n.get());
      return out;
    });
    on_b.join();
    where = t.get();
  });
  ASSERT_EQ(where.size(), 8u);
  for (auto& n : where) EXPECT_EQ(n.rfind("sa-", 0), 0u) << n;
}

}  // namespace
