// SPDX-License-Identifier: Apache-2.0
// Observability: stats() counters, dump(), tracing and the hang watchdog.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cohort/cohort.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;

namespace {

using cohort_test::eventually;
using cohort_test::gate;

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

}  // namespace

TEST(stats, every_child_spawned_from_outside_is_counted_and_run_exactly_once) {
  cohort::scheduler s({.workers = 2});
  const auto before = s.stats();
  const std::size_t n = cohort_test::scaled(2000, 300);
  {
    cohort::task_group g(s);
    for (std::size_t i = 0; i < n; ++i) g.spawn([] {});
    g.join();
  }
  const auto after = s.stats();
  EXPECT_EQ(after.injected - before.injected, n);
  EXPECT_EQ(after.total.tasks_run - before.total.tasks_run, n);
  EXPECT_EQ(after.outside.tasks_spawned - before.outside.tasks_spawned, n)
      << "spawns from main go on main's own slot in the pool";
  ASSERT_EQ(after.workers.size(), 2u);
  std::uint64_t per_worker_sum = after.outside.tasks_run;  // what main ran while joining
  for (const auto& w : after.workers) per_worker_sum += w.tasks_run;
  EXPECT_EQ(per_worker_sum, after.total.tasks_run);
}

TEST(stats, cancelled_children_are_counted_as_cancelled) {
  cohort::scheduler s({.workers = 1});
  gate g1;
  const auto before = s.stats();
  std::vector<cohort::task<void>> tasks;
  {
    cohort::task_group g(s);
    tasks.push_back(g.spawn([&] { g1.wait(); }));
    for (int i = 0; i < 10; ++i) tasks.push_back(g.spawn([] {}));
    g.cancel();
    g1.open();
    g.join();
  }
  std::uint64_t cancelled = 0;
  for (auto& t : tasks) cancelled += t.status() == cohort::task_status::cancelled ? 1 : 0;
  EXPECT_GE(cancelled, 10u);
  EXPECT_EQ(s.stats().tasks_cancelled - before.tasks_cancelled, cancelled);
}

TEST(dump, names_the_stuck_task_its_group_and_the_thread_waiting_in_join) {
  cohort::scheduler s({.workers = 3, .name = "app"});
  s.enable_timing();
  gate stuck;
  std::atomic<bool> failed_both{false};
  std::thread joiner([&] {
    cohort::task_group consumers(
        s, {.on_failure = cohort::failure_policy::keep_going, .name = "consumers"});
    consumers.spawn([] { throw std::runtime_error("a"); }, {.name = "consumer-0"});
    consumers.spawn([] { throw std::runtime_error("b"); }, {.name = "consumer-1"});
    std::atomic<bool> started{false};
    consumers.spawn(
        [&] {
          started = true;
          stuck.wait(std::chrono::hours(1));
        },
        {.name = "consumer-2"});
    // On a worker before the join: otherwise the join could run it on this thread, in
    // its slot (see dump.shows_an_outside_thread_running_its_children_in_join).
    EXPECT_TRUE(eventually([&] { return started.load(); }));
    try {
      consumers.join();
    } catch (const cohort::task_group_error& e) {
      failed_both = e.exceptions().size() == 2;
    }
  });
  std::string d;
  const bool seen = eventually([&] {
    d = s.dump();
    return d.find("joined by thread") != std::string::npos &&
           d.find("2 failed") != std::string::npos && d.find("'consumer-2'") != std::string::npos;
  });
  stuck.open();
  joiner.join();
  ASSERT_TRUE(seen) << d;
  EXPECT_NE(d.find("group 'consumers'"), std::string::npos) << d;
  EXPECT_NE(d.find("running task 'consumer-2' #2 of group 'consumers'"), std::string::npos) << d;
  EXPECT_NE(d.find("waiting on join of group 'consumers'"), std::string::npos) << d;
  EXPECT_TRUE(failed_both);
  // Once it ended, the group is gone from the dump.
  EXPECT_EQ(s.dump().find("consumers"), std::string::npos);
}

// A thread outside the pool that joins runs its group's children left on its own deque
// (in its slot): dump() shows that thread, the join and the task it runs.
TEST(dump, shows_an_outside_thread_running_its_children_in_join) {
  cohort::scheduler s({.workers = 1, .name = "app"});
  gate busy, stuck;
  std::atomic<bool> worker_busy{false}, child_started{false};
  cohort::task_group hold(s);
  hold.spawn([&] {  // keeps the one worker away from the joiner's deque
    worker_busy = true;
    busy.wait(std::chrono::hours(1));
  });
  ASSERT_TRUE(eventually([&] { return worker_busy.load(); }));
  std::thread::id ran_on;
  std::thread joiner([&] {
    cohort::task_group g(s, {.name = "local"});
    g.spawn(
        [&] {
          ran_on = std::this_thread::get_id();
          child_started = true;
          stuck.wait(std::chrono::hours(1));
        },
        {.name = "mine"});
    g.join();
  });
  const std::thread::id joiner_id = joiner.get_id();
  std::string d;
  const bool seen = eventually([&] {
    d = s.dump();
    return child_started.load() && d.find("'mine'") != std::string::npos;
  });
  stuck.open();
  joiner.join();
  busy.open();
  hold.join();
  ASSERT_TRUE(seen) << d;
  EXPECT_EQ(ran_on, joiner_id) << "the joiner did not run its own child";
  // Slot 0 is this thread's (it spawned `hold`), slot 1 the joiner's.
  EXPECT_NE(d.find("task 'mine' #0: running on outside thread 1 (app-outside-1)"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("joined by outside thread 1 (app-outside-1)"), std::string::npos) << d;
  EXPECT_NE(d.find("outside thread 1 (app-outside-1): \n    running a call from outside the pool"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("inside it, running task 'mine' #0 of group 'local'"), std::string::npos) << d;
}

TEST(dump, says_when_a_thread_waits_for_the_first_of_several_tasks) {
  cohort::scheduler s({.workers = 3, .name = "any"});
  gate stuck;
  cohort::task_group g(s, {.name = "fetchers"});
  std::vector<cohort::task<void>> tasks;
  for (int i = 0; i < 3; ++i) tasks.push_back(g.spawn([&] { stuck.wait(); }));
  std::thread waiter([&] { cohort::wait(tasks, cohort::wait_policy::first_completed); });
  std::string d;
  const bool seen = eventually([&] {
    d = s.dump();
    return d.find("waiting on any of 3, e.g. task #") != std::string::npos;
  });
  stuck.open();
  waiter.join();
  g.join();
  EXPECT_TRUE(seen) << d;
  EXPECT_NE(d.find("): waiting on any of 3, e.g. task #0 of group 'fetchers'"), std::string::npos)
      << d;
}

TEST(dump, shows_a_worker_waiting_inside_a_task_on_a_nested_group) {
  cohort::scheduler s({.workers = 2, .name = "nest"});
  gate stuck;
  std::atomic<bool> inner_started{false};
  cohort::task_group outer(s, {.name = "outer"});
  outer.spawn(
      [&] {
        cohort::task_group inner({.name = "inner"});
        inner.spawn(
            [&] {
              inner_started = true;
              stuck.wait(std::chrono::hours(1));
            },
            {.name = "leaf"});
        inner.join();
      },
      {.name = "parent"});
  std::string d;
  const bool seen = eventually([&] {
    d = s.dump();
    return inner_started && d.find("waiting on join of group 'inner'") != std::string::npos;
  });
  stuck.open();
  outer.join();
  EXPECT_TRUE(seen) << d;
  EXPECT_NE(d.find("'leaf'"), std::string::npos) << d;
}

TEST(trace, a_small_run_writes_json_with_balanced_begin_and_end_per_worker) {
  cohort::scheduler s({.workers = 2, .name = "tr"});
  s.start_tracing();
  cohort::scope(s,
                [](cohort::task_group& g) {
                  for (int i = 0; i < 50; ++i)
                    g.spawn([] { std::this_thread::sleep_for(100us); },
                            {.name = "job \"quoted\" " + std::to_string(i)});
                },
                {.name = "jobs"});
  s.stop_tracing();
  const std::string path = ::testing::TempDir() + "cohort_trace_test.json";
  ASSERT_TRUE(s.write_trace(path));
  const std::string json = read_file(path);
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json.find("{\"displayTimeUnit\""), 0u);
  EXPECT_NE(json.rfind("]}"), std::string::npos);
  EXPECT_NE(json.find("job \\\"quoted\\\" 7"), std::string::npos) << "names are escaped";
  EXPECT_NE(json.find("\"group\":\"jobs\""), std::string::npos);
  for (int tid = 0; tid < 2; ++tid) {
    // Count begin/end events of this worker line by line (one event per line).
    std::istringstream lines(json);
    std::string line;
    long depth = 0, begins = 0;
    const std::string tid_field = "\"tid\":" + std::to_string(tid) + ",";
    while (std::getline(lines, line)) {
      if (line.find(tid_field) == std::string::npos) continue;
      if (line.find("\"ph\":\"B\"") != std::string::npos) {
        ++depth;
        ++begins;
      }
      if (line.find("\"ph\":\"E\"") != std::string::npos) {
        --depth;
        ASSERT_GE(depth, 0) << "an end before its begin on worker " << tid;
      }
    }
    EXPECT_EQ(depth, 0) << "worker " << tid;
  }
  EXPECT_EQ(count(json, "\"ph\":\"B\""), count(json, "\"ph\":\"E\""));
  EXPECT_GE(count(json, "\"name\":\"job "), 50u);
}

TEST(trace, spans_still_open_when_written_are_closed) {
  cohort::scheduler s({.workers = 1, .name = "open"});
  s.start_tracing();
  gate stuck;
  std::atomic<bool> started{false};
  s.spawn_detached([&] {
    started = true;
    stuck.wait(std::chrono::hours(1));
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  const std::string path = ::testing::TempDir() + "cohort_trace_open.json";
  ASSERT_TRUE(s.write_trace(path));
  stuck.open();
  const std::string json = read_file(path);
  EXPECT_EQ(count(json, "\"ph\":\"B\""), count(json, "\"ph\":\"E\""));
}

TEST(watchdog, prints_the_dump_once_for_a_real_stall) {
  cohort::scheduler s({.workers = 2, .name = "wd"});
  s.set_watchdog(200ms);
  gate stuck;
  ::testing::internal::CaptureStderr();
  {
    cohort::task_group g(s, {.name = "stalled"});
    g.spawn([&] { stuck.wait(std::chrono::hours(1)); }, {.name = "blocked-forever"});
    std::thread opener([&] {
      std::this_thread::sleep_for(cohort_test::under_tsan ? 3s : 1500ms);
      stuck.open();
    });
    g.join();
    opener.join();
  }
  s.set_watchdog(0ns);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(count(err, "cohort watchdog:"), 1u) << err;
  EXPECT_NE(err.find("'blocked-forever'"), std::string::npos) << err;
  EXPECT_NE(err.find("group 'stalled'"), std::string::npos) << err;
}

TEST(watchdog, stays_silent_for_a_long_run_that_keeps_making_progress) {
  cohort::scheduler s({.workers = 2, .name = "busy"});
  s.set_watchdog(300ms);
  ::testing::internal::CaptureStderr();
  {
    cohort::task_group g(s, {.name = "steady"});
    const auto until = std::chrono::steady_clock::now() + 1200ms;
    g.spawn([&] {
      // A long run made of many short steps, each a real task.
      while (std::chrono::steady_clock::now() < until) {
        cohort::gather([] { std::this_thread::sleep_for(2ms); },
                       [] { std::this_thread::sleep_for(2ms); });
      }
    });
    g.join();
  }
  s.set_watchdog(0ns);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("cohort watchdog"), std::string::npos) << err;
}
