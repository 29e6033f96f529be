// SPDX-License-Identifier: Apache-2.0
// wait (asyncio.wait over task handles): all_completed, first_completed,
// first_exception, timeouts, and the misuse errors around waiting: a task waiting on
// itself, a moved-from handle. as_completed is in as_completed_test.cpp.
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

// ===== wait =============================================================================

TEST(wait, all_completed_waits_for_every_task) {
  cohort::scheduler s({.workers = 3, .name = "w"});
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([] {
    std::this_thread::sleep_for(20ms);
    return 0;
  }));
  tasks.push_back(g.spawn([] {
    std::this_thread::sleep_for(40ms);
    return 1;
  }));
  tasks.push_back(g.spawn([] { return 2; }));
  auto r = cohort::wait(tasks);
  EXPECT_EQ(r.done, (idx{0, 1, 2}));
  EXPECT_TRUE(r.pending.empty());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(tasks[i].done());
    EXPECT_EQ(tasks[i].get(), i);
  }
  g.join();
}

TEST(wait, first_completed_returns_as_soon_as_one_is_done_and_cancels_nothing) {
  cohort::scheduler s({.workers = 3, .name = "w"});
  gate g0, g2;
  std::atomic<bool> stop_seen{false};
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([&](std::stop_token st) {
    g0.pass();
    if (st.stop_requested()) stop_seen = true;
    return 10;
  }));
  tasks.push_back(g.spawn([] { return 11; }));
  tasks.push_back(g.spawn([&](std::stop_token st) {
    g2.pass();
    if (st.stop_requested()) stop_seen = true;
    return 12;
  }));
  auto r = cohort::wait(tasks, cohort::wait_policy::first_completed);
  EXPECT_EQ(r.done, (idx{1}));
  EXPECT_EQ(r.pending, (idx{0, 2}));
  EXPECT_FALSE(tasks[0].done());
  EXPECT_FALSE(tasks[2].done());
  g0.open();
  g2.open();
  EXPECT_EQ(tasks[0].get(), 10);  // the pending ones still finish, with their values
  EXPECT_EQ(tasks[2].get(), 12);
  EXPECT_EQ(tasks[0].status(), cohort::task_status::succeeded);
  EXPECT_FALSE(stop_seen.load());
  EXPECT_NO_THROW(g.join());
}

TEST(wait, first_exception_returns_at_the_first_failure) {
  cohort::scheduler s({.workers = 3, .name = "w"});
  gate g0, g2;
  cohort::task_group g(
      s, {.on_failure = cohort::failure_policy::keep_going, .max_concurrency = 0, .name = "kg"});
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([&] {
    g0.pass();
    return 0;
  }));
  tasks.push_back(g.spawn([]() -> int { throw boom("one"); }));
  tasks.push_back(g.spawn([&] {
    g2.pass();
    return 2;
  }));
  auto r = cohort::wait(tasks, cohort::wait_policy::first_exception);
  EXPECT_EQ(r.done, (idx{1}));
  EXPECT_EQ(r.pending, (idx{0, 2}));
  EXPECT_EQ(tasks[1].status(), cohort::task_status::failed);
  EXPECT_NE(tasks[1].exception(), nullptr);
  g0.open();
  g2.open();
  EXPECT_THROW(g.join(), cohort::task_group_error);
  EXPECT_EQ(tasks[0].get(), 0);
  EXPECT_EQ(tasks[2].get(), 2);
}

TEST(wait, first_exception_ignores_successes_and_without_failures_waits_for_all) {
  cohort::scheduler s({.workers = 3, .name = "w"});
  gate g1;
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([] { return 0; }));
  tasks.push_back(g.spawn([&] {
    g1.pass();
    return 1;
  }));
  // A success is not an exception: with a timeout, task 1 is still pending.
  auto r = cohort::wait(tasks, cohort::wait_policy::first_exception, 50ms);
  EXPECT_EQ(r.done, (idx{0}));
  EXPECT_EQ(r.pending, (idx{1}));
  g1.open();
  r = cohort::wait(tasks, cohort::wait_policy::first_exception);
  EXPECT_EQ(r.done, (idx{0, 1}));
  EXPECT_TRUE(r.pending.empty());
  g.join();
}

TEST(wait, timeout_returns_pending_and_does_not_cancel_them) {
  cohort::scheduler s({.workers = 3, .name = "w"});
  gate g0;
  std::atomic<bool> stop_seen{false};
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([&](std::stop_token st) {
    g0.pass();
    stop_seen = st.stop_requested();
    return 7;
  }));
  tasks.push_back(g.spawn([] { return 8; }));
  const auto start = clock_type::now();
  auto r = cohort::wait(tasks, cohort::wait_policy::all_completed, 50ms);
  const auto waited = clock_type::now() - start;
  EXPECT_GE(waited, 50ms) << "the timeout fired early";
  EXPECT_EQ(r.done, (idx{1}));
  EXPECT_EQ(r.pending, (idx{0}));
  EXPECT_FALSE(tasks[0].done());
  EXPECT_NE(tasks[0].status(), cohort::task_status::cancelled);
  g0.open();
  EXPECT_EQ(tasks[0].get(), 7);
  EXPECT_FALSE(stop_seen.load()) << "wait cancelled a pending task";
  EXPECT_EQ(tasks[0].status(), cohort::task_status::succeeded);
  g.join();
}

TEST(wait, zero_timeout_and_empty_input) {
  cohort::scheduler s({.workers = 2, .name = "w"});
  gate g0;
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([&] {
    g0.pass();
    return 0;
  }));
  auto r = cohort::wait(tasks, cohort::wait_policy::all_completed, 0ns);
  EXPECT_TRUE(r.done.empty());
  EXPECT_EQ(r.pending, (idx{0}));
  g0.open();
  g.join();
  std::vector<cohort::task<int>> none;
  for (auto p : {cohort::wait_policy::all_completed, cohort::wait_policy::first_completed,
                 cohort::wait_policy::first_exception}) {
    auto e = cohort::wait(none, p);
    EXPECT_TRUE(e.done.empty());
    EXPECT_TRUE(e.pending.empty());
  }
}

TEST(wait, tasks_of_different_types_through_tie) {
  cohort::scheduler s({.workers = 3, .name = "w"});
  gate ga, gc;
  std::atomic<bool> c_ran{false};
  cohort::task_group g(s);
  auto a = g.spawn([&] {
    ga.pass();
    return 1;
  });
  auto b = g.spawn([] { return std::string("bee"); });
  auto c = g.spawn([&] {
    gc.pass();
    c_ran = true;
  });
  auto r = cohort::wait(std::tie(a, b, c), cohort::wait_policy::first_completed);
  EXPECT_EQ(r.done, (idx{1}));
  EXPECT_EQ(r.pending, (idx{0, 2}));
  gc.open();
  r = cohort::wait(std::tie(a, b, c), cohort::wait_policy::all_completed, 20ms);
  EXPECT_EQ(r.done, (idx{1, 2}));
  EXPECT_EQ(r.pending, (idx{0}));
  ga.open();
  r = cohort::wait(std::tie(a, b, c));
  EXPECT_EQ(r.done, (idx{0, 1, 2}));
  EXPECT_EQ(a.get(), 1);
  EXPECT_EQ(b.get(), "bee");
  EXPECT_TRUE(c_ran.load());
  g.join();
}

TEST(wait, from_inside_a_worker_on_one_worker_runs_the_nested_tasks) {
  // One worker: the waiting task must run the tasks it waits for (help-while-wait).
  cohort::scheduler s({.workers = 1, .name = "w1"});
  cohort::task_group g(s);
  auto t = g.spawn([] {
    cohort::task_group inner;
    std::vector<cohort::task<int>> tasks;
    for (int i = 0; i < 8; ++i) tasks.push_back(inner.spawn([i] { return i * i; }));
    auto r = cohort::wait(tasks);
    int sum = 0;
    for (auto& x : tasks) sum += x.get();
    inner.join();
    return std::make_pair(r.done.size(), sum);
  });
  g.join();
  EXPECT_EQ(t.get(), std::make_pair(std::size_t{8}, 140));
}

TEST(wait, timeout_from_inside_a_worker) {
  cohort::scheduler s({.workers = 2, .name = "w2"});
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
    poll_until([&] { return started.load(); });  // running on the other worker now
    auto r = cohort::wait(tasks, cohort::wait_policy::all_completed, 30ms);
    g0.open();
    inner.join();
    return r.pending;
  });
  g.join();
  EXPECT_EQ(t.get(), (idx{0}));
}

TEST(wait, first_completed_sees_a_cancelled_task) {
  cohort::scheduler s({.workers = 2, .name = "w"});
  gate g0;
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([&] {
    g0.pass();
    return 0;
  }));
  tasks.push_back(g.spawn([&](std::stop_token st) {
    poll_until([&] { return st.stop_requested(); });
    return 1;
  }));
  tasks[1].cancel();
  auto r = cohort::wait(tasks, cohort::wait_policy::first_completed);
  EXPECT_EQ(r.done, (idx{1}));
  EXPECT_EQ(tasks[1].status(), cohort::task_status::cancelled);
  g0.open();
  g.join();
}

TEST(wait, many_threads_wait_on_the_same_tasks) {
  // Threads outside the pool and tasks on it all sleep on the same completions.
  cohort::scheduler s({.workers = 2, .name = "w"});
  gate g0;
  cohort::task_group g(s);
  std::vector<cohort::task<int>> tasks;
  tasks.push_back(g.spawn([&] {
    g0.pass();
    return 1;
  }));
  tasks.push_back(g.spawn([&] {
    g0.pass();
    return 2;
  }));
  std::atomic<int> returned{0};
  std::vector<std::thread> outside;
  for (int i = 0; i < 4; ++i)
    outside.emplace_back([&, i] {
      auto r = cohort::wait(
          tasks, i % 2 ? cohort::wait_policy::first_completed : cohort::wait_policy::all_completed);
      if (!r.done.empty()) ++returned;
    });
  cohort::task_group waiters(s);
  waiters.spawn([&] {
    if (cohort::wait(tasks).done.size() == 2) ++returned;
  });
  std::this_thread::sleep_for(20ms);  // let them all go to sleep
  EXPECT_EQ(returned.load(), 0);
  g0.open();
  for (auto& th : outside) th.join();
  waiters.join();
  EXPECT_EQ(returned.load(), 5);
  g.join();
}

TEST(wait, handles_outlive_their_group) {
  cohort::scheduler s({.workers = 2, .name = "w"});
  std::vector<cohort::task<std::string>> tasks;
  {
    cohort::task_group g(s);
    for (int i = 0; i < 3; ++i)
      tasks.push_back(g.spawn([i] { return std::string(40, static_cast<char>('a' + i)); }));
    g.join();
  }  // the group is gone; the handles keep the results
  auto r = cohort::wait(tasks, cohort::wait_policy::first_completed);
  EXPECT_EQ(r.done, (idx{0, 1, 2}));
  std::string all;
  for (auto& t : cohort::as_completed(tasks)) all += t.get().substr(0, 1);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, "abc");
}

// ===== misuse ===========================================================================

TEST(wait_misuse, waiting_on_itself_is_a_logic_error) {
  cohort::scheduler s({.workers = 2, .name = "wm"});
  cohort::task_group g(s);
  std::atomic<bool> ready{false};
  std::atomic<int> logic_errors{0};
  cohort::task<int> me;
  me = g.spawn([&] {
    poll_until([&] { return ready.load(); });
    auto expect_logic_error = [&](auto&& f) {
      try {
        f();
      } catch (const std::logic_error&) {
        ++logic_errors;
      }
    };
    expect_logic_error([&] { cohort::wait(std::tie(me)); });
    expect_logic_error(
        [&] { cohort::wait(std::span(&me, 1), cohort::wait_policy::first_completed); });
    expect_logic_error([&] {
      for (std::size_t i : cohort::as_completed(std::tie(me))) (void)i;
    });
    expect_logic_error([&] { me.wait(); });
    // From a task nested inside it, too: it would wait on its own ancestor.
    cohort::task_group inner;
    inner.spawn([&] { expect_logic_error([&] { cohort::wait(std::tie(me)); }); });
    inner.join();
    return 5;
  });
  ready = true;
  g.join();
  EXPECT_EQ(logic_errors.load(), 5);
  EXPECT_EQ(me.get(), 5);
}

TEST(wait_misuse, moved_from_handle_is_a_logic_error) {
  cohort::scheduler s({.workers = 2, .name = "wm"});
  cohort::task_group g(s);
  auto a = g.spawn([] { return 1; });
  auto b = std::move(a);
  EXPECT_FALSE(a.valid());
  EXPECT_THROW(a.get(), std::logic_error);
  EXPECT_THROW(std::move(a).get(), std::logic_error);
  EXPECT_THROW(a.wait(), std::logic_error);
  EXPECT_THROW(cohort::wait(std::tie(a)), std::logic_error);
  EXPECT_THROW(cohort::wait(std::tie(b, a)), std::logic_error);
  EXPECT_THROW(cohort::as_completed(std::tie(a)), std::logic_error);
  std::vector<cohort::task<int>> v;
  v.push_back(std::move(b));
  v.emplace_back();  // default-constructed: empty too
  EXPECT_THROW(cohort::wait(v), std::logic_error);
  EXPECT_EQ(v[0].get(), 1);
  g.join();
}

}  // namespace
