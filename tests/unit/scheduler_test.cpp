// SPDX-License-Identifier: Apache-2.0
// The scheduler: worker count, thread names, detached tasks, the unhandled-exception
// handler, idle CPU, nested waits, stats.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort_test::eventually;
using cohort_test::scaled;

std::string this_thread_name() {
  char buf[32] = {};
  pthread_getname_np(pthread_self(), buf, sizeof buf);
  return buf;
}

std::set<std::string> thread_names() {
  std::set<std::string> names;
  for (auto& t : cohort_test::list_threads()) names.insert(t.comm);
  return names;
}

TEST(scheduler, workers_honours_the_option) {
  for (std::size_t n : {1u, 2u, 3u, 7u}) {
    cohort::scheduler s({.workers = n, .name = "wk"});
    EXPECT_EQ(s.workers(), n);
    EXPECT_EQ(s.stats().workers.size(), n);
  }
}

TEST(scheduler, zero_workers_means_one_per_hardware_thread) {
  cohort::scheduler s({.workers = 0});
  const unsigned hc = std::thread::hardware_concurrency();
  EXPECT_EQ(s.workers(), hc == 0 ? 1u : hc);
}

TEST(scheduler, an_absurd_worker_count_throws_invalid_argument_with_a_message) {
  try {
    cohort::scheduler s({.workers = 100000});
    FAIL() << "constructed a scheduler with 100000 workers";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("100000"), std::string::npos) << what;
    EXPECT_NE(what.find("workers"), std::string::npos) << what;
  }
  // No thread of the failed scheduler was left behind, and a sane one still works.
  cohort::scheduler s({.workers = 2, .name = "after"});
  std::atomic<int> ran{0};
  cohort::task_group g(s);
  g.spawn([&] { ran.fetch_add(1); });
  g.join();
  EXPECT_EQ(ran.load(), 1);
}

TEST(scheduler, worker_threads_are_named_prefix_dash_index) {
  {
    cohort::scheduler s({.workers = 3, .name = "render"});
    // Each worker names itself when it starts running.
    auto all_named = [] {
      const auto names = thread_names();
      return names.count("render-0") && names.count("render-1") && names.count("render-2");
    };
    EXPECT_TRUE(eventually(all_named)) << "no threads named render-0, render-1, render-2";
    EXPECT_FALSE(thread_names().count("render-3"));
    // Tasks run on those threads (waited for before the join, which could run it here).
    cohort::task_group g(s);
    auto t = g.spawn([] { return this_thread_name(); });
    EXPECT_TRUE(eventually([&] { return t.status() == cohort::task_status::succeeded; }));
    g.join();
    EXPECT_EQ(t.get().rfind("render-", 0), 0u) << t.get();
  }
  for (auto& name : thread_names()) EXPECT_EQ(name.rfind("render-", 0), std::string::npos) << name;
}

TEST(scheduler, long_names_are_truncated_but_keep_the_index) {
  cohort::scheduler s({.workers = 2, .name = "averyveryverylongpoolname"});
  eventually([] {
    int n = 0;
    for (auto& name : thread_names()) n += name.rfind("averyvery", 0) == 0;
    return n == 2;
  });
  int found = 0;
  for (auto& name : thread_names()) {
    if (name.rfind("averyvery", 0) != 0) continue;
    ++found;
    EXPECT_LE(name.size(), 15u);
    EXPECT_TRUE(name.ends_with("-0") || name.ends_with("-1")) << name;
  }
  EXPECT_EQ(found, 2);
}

TEST(scheduler, destruction_runs_every_pending_detached_task) {
  const int n = static_cast<int>(scaled(2'000, 500));
  std::atomic<int> ran{0};
  {
    cohort::scheduler s({.workers = 2, .name = "drain"});
    for (int i = 0; i < n; ++i) {
      s.spawn_detached([&ran, i] {
        if (i % 100 == 0) std::this_thread::sleep_for(1ms);
        ran.fetch_add(1, std::memory_order_relaxed);
      });
    }
  }  // ~scheduler: waits for every detached task
  EXPECT_EQ(ran.load(), n);
}

TEST(scheduler, destruction_waits_for_detached_tasks_spawned_by_detached_tasks) {
  std::atomic<int> ran{0};
  {
    cohort::scheduler s({.workers = 2, .name = "chain"});
    // Each link spawns the next from inside the pool, after a pause: the destructor must
    // still be waiting when the later links are spawned.
    struct link {
      cohort::scheduler* s;
      std::atomic<int>* ran;
      int left;
      void operator()() const {
        std::this_thread::sleep_for(2ms);
        ran->fetch_add(1);
        if (left > 0) s->spawn_detached(link{s, ran, left - 1});
      }
    };
    s.spawn_detached(link{&s, &ran, 19});
  }
  EXPECT_EQ(ran.load(), 20);
}

TEST(scheduler, detached_tasks_may_take_a_stop_token) {
  std::atomic<bool> ran{false};
  {
    cohort::scheduler s({.workers = 1, .name = "tok"});
    s.spawn_detached([&](std::stop_token st) {
      EXPECT_FALSE(st.stop_requested());
      ran = true;
    });
  }
  EXPECT_TRUE(ran.load());
}

TEST(scheduler, a_failed_detached_task_goes_to_the_handler_with_its_name) {
  std::mutex m;
  std::vector<std::pair<std::string, std::string>> seen;  // name, what
  {
    cohort::scheduler s({.workers = 2, .name = "hnd"});
    s.set_unhandled_exception_handler([&](std::exception_ptr e, std::string_view name) {
      std::lock_guard lock(m);
      seen.emplace_back(std::string(name), cohort::describe_exception(e));
    });
    s.spawn_detached([] { throw std::runtime_error("disk full"); }, {.name = "flush-logs"});
    s.spawn_detached([] { throw 42; }, {.name = "int-thrower"});
    s.spawn_detached([] {}, {.name = "fine"});
  }
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "flush-logs");
  EXPECT_EQ(seen[0].second, "disk full");
  EXPECT_EQ(seen[1].first, "int-thrower");
  EXPECT_NE(seen[1].second.find("42"), std::string::npos) << seen[1].second;
}

TEST(scheduler, the_default_handler_prints_the_failure_to_stderr) {
  testing::internal::CaptureStderr();
  {
    cohort::scheduler s({.workers = 1, .name = "noisy"});
    s.spawn_detached([] { throw std::runtime_error("checksum mismatch"); }, {.name = "verify"});
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("verify"), std::string::npos) << err;
  EXPECT_NE(err.find("checksum mismatch"), std::string::npos) << err;
}

TEST(scheduler, an_empty_handler_restores_the_default_and_a_throwing_handler_is_contained) {
  testing::internal::CaptureStderr();
  {
    cohort::scheduler s({.workers = 1, .name = "reset"});
    std::atomic<bool> thrower_called{false};
    s.set_unhandled_exception_handler([&](std::exception_ptr, std::string_view) {
      thrower_called = true;
      throw std::logic_error("handler bug");
    });
    s.spawn_detached([] { throw std::runtime_error("first"); }, {.name = "one"});
    ASSERT_TRUE(eventually([&] { return thrower_called.load(); }));
    s.set_unhandled_exception_handler({});
    s.spawn_detached([] { throw std::runtime_error("second"); }, {.name = "two"});
  }  // no std::terminate from the throwing handler
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("second"), std::string::npos) << err;
  EXPECT_NE(err.find("two"), std::string::npos) << err;
}

TEST(scheduler, default_scheduler_works_from_main_and_is_the_ambient_one) {
  cohort::scheduler& d = cohort::default_scheduler();
  EXPECT_EQ(&d, &cohort::default_scheduler());
  const unsigned hc = std::thread::hardware_concurrency();
  EXPECT_EQ(d.workers(), hc == 0 ? 1u : hc);

  cohort::task_group g;  // no scheduler given: the default one
  auto name = g.spawn([] { return this_thread_name(); });
  auto sum = g.spawn([] {
    int s = 0;
    for (int i = 1; i <= 100; ++i) s += i;
    return s;
  });
  // Waited for before the join, which could run them on this thread (in its slot).
  EXPECT_TRUE(eventually([&] { return name.status() == cohort::task_status::succeeded; }));
  g.join();
  EXPECT_EQ(sum.get(), 5050);
  EXPECT_EQ(name.get().rfind("cohort-", 0), 0u) << name.get();

  std::atomic<bool> ran{false};
  d.spawn_detached([&] { ran = true; });
  EXPECT_TRUE(eventually([&] { return ran.load(); }));
}

TEST(scheduler, groups_created_inside_a_task_use_that_tasks_scheduler) {
  cohort::scheduler s({.workers = 2, .name = "amb"});
  cohort::task_group outer(s);
  auto inner_on_s = outer.spawn([&s] {
    cohort::task_group inner;  // ambient: "amb", not the default scheduler
    auto t = inner.spawn([&s] { return cohort_test::runs_on(s); });
    inner.join();
    return t.get();
  });
  outer.join();
  EXPECT_TRUE(inner_on_s.get());
}

TEST(scheduler, an_idle_pool_burns_almost_no_cpu) {
  cohort::scheduler s({.workers = 2, .name = "idlepool"});
  {
    cohort::task_group g(s);
    std::atomic<long> sink{0};
    for (int i = 0; i < 1000; ++i)
      g.spawn([&sink, i] { sink.fetch_add(i, std::memory_order_relaxed); });
    g.join();
  }
  std::this_thread::sleep_for(200ms);  // let the workers finish spinning and park

  auto pool_cpu_ns = [] {
    std::uint64_t sum = 0;
    int found = 0;
    for (auto& t : cohort_test::list_threads()) {
      if (t.comm.rfind("idlepool-", 0) == 0) {
        sum += t.cpu_ns;
        ++found;
      }
    }
    EXPECT_EQ(found, 2);
    return sum;
  };
  const std::uint64_t before = pool_cpu_ns();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1s);
  const std::uint64_t after = pool_cpu_ns();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double ms_per_s = static_cast<double>(after - before) / 1e6 / seconds;
  EXPECT_LT(ms_per_s, 50.0) << "an idle pool of 2 workers used " << ms_per_s
                            << " ms of CPU per second";

  // And a job submitted to the parked pool still runs promptly.
  std::atomic<bool> ran{false};
  const auto t1 = std::chrono::steady_clock::now();
  s.spawn_detached([&] { ran = true; });
  EXPECT_TRUE(eventually([&] { return ran.load(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 1s);
}

int nested_depth(int depth) {
  if (depth == 0) return 0;
  cohort::task_group g;
  auto deeper = g.spawn([depth] { return nested_depth(depth - 1); });
  auto leaf = g.spawn([] {
    std::this_thread::sleep_for(100us);
    return 1;
  });
  g.join();
  return deeper.get() + leaf.get();
}

// A task joins a child that joins a child ... 20 deep; the watchdog turns a deadlock into
// a failure with the dump.
int twenty_nested_joins(std::size_t workers) {
  cohort::scheduler s({.workers = workers, .name = "deep"});
  int result = -1;
  cohort_test::with_watchdog(
      "20 nested joins",
      [&] {
        cohort::task_group g(s);
        auto t = g.spawn([] { return nested_depth(20); });
        g.join();
        result = t.get();
      },
      cohort_test::patience(), [&] { return s.dump(); });
  return result;
}

TEST(scheduler, waits_nested_twenty_deep_on_two_workers_finish) {
  EXPECT_EQ(twenty_nested_joins(2), 20);
}

TEST(scheduler, waits_nested_twenty_deep_on_one_worker_finish) {
  EXPECT_EQ(twenty_nested_joins(1), 20);
}

TEST(scheduler, stats_counters_add_up) {
  cohort::scheduler s({.workers = 2, .name = "stats"});
  constexpr int from_outside = 200;
  constexpr int from_inside = 300;
  {
    cohort::task_group g(s);
    for (int i = 0; i < from_outside; ++i) g.spawn([] {});
    g.join();
  }
  auto a = s.stats();
  EXPECT_EQ(a.injected, static_cast<std::uint64_t>(from_outside))
      << "every spawn from main counts as submitted from outside";
  EXPECT_GE(a.total.tasks_run, static_cast<std::uint64_t>(from_outside));
  EXPECT_EQ(a.outside.tasks_spawned, a.injected) << "main's spawns go on its own slot's deque";
  EXPECT_EQ(a.total.injected_taken, 0u) << "nothing went through the injection queue";
  EXPECT_EQ(a.detached_pending, 0u);

  {
    cohort::task_group g(s);
    g.spawn([] {
      cohort::task_group inner;
      for (int i = 0; i < from_inside; ++i) inner.spawn([] {});
      inner.join();
    });
    g.join();
  }
  auto b = s.stats();
  EXPECT_EQ(b.injected, a.injected + 1) << "only the outer child came from outside";
  EXPECT_GE(b.total.tasks_spawned - a.total.tasks_spawned, static_cast<std::uint64_t>(from_inside))
      << "children spawned on a worker go on its own deque";
  EXPECT_GE(b.total.tasks_run - a.total.tasks_run, static_cast<std::uint64_t>(from_inside + 1));

  // Per-worker rows and the outside threads' row add up to the total.
  cohort::worker_stats sum = b.outside;
  for (auto& w : b.workers) {
    sum.tasks_run += w.tasks_run;
    sum.tasks_spawned += w.tasks_spawned;
    sum.tasks_stolen += w.tasks_stolen;
    sum.injected_taken += w.injected_taken;
    sum.parks += w.parks;
  }
  EXPECT_EQ(sum.tasks_run, b.total.tasks_run);
  EXPECT_EQ(sum.tasks_spawned, b.total.tasks_spawned);
  EXPECT_EQ(sum.tasks_stolen, b.total.tasks_stolen);
  EXPECT_EQ(sum.injected_taken, b.total.injected_taken);
  EXPECT_EQ(sum.parks, b.total.parks);
  EXPECT_LE(b.total.tasks_stolen, b.total.tasks_run);

  // Cancelled children are counted.
  {
    cohort::task_group g(s);
    g.cancel();
    for (int i = 0; i < 10; ++i) g.spawn([] { ADD_FAILURE() << "ran in a cancelled group"; });
    g.join();
  }
  EXPECT_GE(s.stats().tasks_cancelled, 10u);
}

TEST(scheduler, stats_count_pending_detached_tasks) {
  cohort::scheduler s({.workers = 1, .name = "pend"});
  cohort_test::gate release;
  std::atomic<bool> started{false};
  s.spawn_detached([&] {
    started = true;
    EXPECT_TRUE(release.wait());
  });
  for (int i = 0; i < 4; ++i) s.spawn_detached([] {});
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  EXPECT_EQ(s.stats().detached_pending, 5u);
  release.open();
  EXPECT_TRUE(eventually([&] { return s.stats().detached_pending == 0; }));
}

// Finished detached tasks leave the count at once, even while a later one runs on the
// same worker (a worker's join credit would hold their ends until it took another job:
// the detached root takes none, lib/join_credit.hpp).
TEST(scheduler, stats_stop_counting_finished_detached_tasks_while_a_later_one_runs) {
  cohort::scheduler s({.workers = 1, .name = "pend2"});
  cohort_test::gate release;
  std::atomic<int> quick_done{0};
  std::atomic<bool> started{false};
  for (int i = 0; i < 3; ++i) s.spawn_detached([&] { ++quick_done; });
  s.spawn_detached([&] {
    started = true;
    EXPECT_TRUE(release.wait());
  });
  ASSERT_TRUE(eventually([&] { return started.load() && quick_done.load() == 3; }));
  EXPECT_EQ(s.stats().detached_pending, 1u);
  release.open();
  EXPECT_TRUE(eventually([&] { return s.stats().detached_pending == 0; }));
}

TEST(scheduler, dump_lists_live_groups_by_name) {
  cohort::scheduler s({.workers = 1, .name = "dumper"});
  cohort_test::gate release;
  std::atomic<bool> started{false};
  cohort::task_group g(s, {.name = "fetch-all"});
  g.spawn([&] {
    started = true;
    EXPECT_TRUE(release.wait());
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  const std::string d = s.dump();
  EXPECT_NE(d.find("dumper"), std::string::npos) << d;
  EXPECT_NE(d.find("fetch-all"), std::string::npos) << d;
  release.open();
  g.join();
}

}  // namespace
