// SPDX-License-Identifier: Apache-2.0
// task_group: waiting never deadlocks nested work (1 and 2 workers), and waiting on
// yourself is diagnosed.
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

// ---- Waiting never deadlocks nested work ---------------------------------------------

class sibling_wait : public testing::TestWithParam<std::size_t> {};

TEST_P(sibling_wait, get_on_a_sibling_inside_a_child_does_not_deadlock) {
  cohort::scheduler s({.workers = GetParam(), .name = "sib"});
  int total = 0;
  cohort_test::with_watchdog(
      "sibling get() inside a child",
      [&] {
        cohort::task_group g(s);
        // The waited-for sibling spawned before the waiter...
        auto earlier = g.spawn([] {
          std::this_thread::sleep_for(1ms);
          return 10;
        });
        auto waits_on_earlier = g.spawn([&earlier] { return earlier.get() + 1; });
        // ...and after it (the waiter learns the handle once it exists).
        std::atomic<cohort::task<int>*> later_handle{nullptr};
        auto waits_on_later = g.spawn([&later_handle] {
          cohort::task<int>* later = nullptr;
          EXPECT_TRUE(eventually([&] { return (later = later_handle.load()) != nullptr; }));
          return later->get() + 2;
        });
        auto later = g.spawn([] { return 20; });
        later_handle = &later;
        g.join();
        total = waits_on_earlier.get() + waits_on_later.get();
      },
      cohort_test::patience(), [&] { return s.dump(); });
  EXPECT_EQ(total, 33);
}

TEST_P(sibling_wait, a_child_waiting_on_a_nested_group_and_a_sibling_does_not_deadlock) {
  cohort::scheduler s({.workers = GetParam(), .name = "sib"});
  int total = 0;
  cohort_test::with_watchdog(
      "nested group plus sibling wait",
      [&] {
        cohort::task_group g(s);
        auto leaf = g.spawn([] { return 1; });
        std::vector<cohort::task<int>> tasks;
        for (int i = 0; i < 8; ++i) {
          tasks.push_back(g.spawn([&leaf, i] {
            cohort::task_group inner;
            auto a = inner.spawn([i] { return i; });
            auto b = inner.spawn([&leaf] { return leaf.get(); });
            inner.join();
            return a.get() + b.get();
          }));
        }
        g.join();
        for (auto& t : tasks) total += t.get();
      },
      cohort_test::patience(), [&] { return s.dump(); });
  EXPECT_EQ(total, 28 + 8);
}

TEST_P(sibling_wait, wait_for_inside_a_child_times_out_then_succeeds) {
  cohort::scheduler s({.workers = GetParam(), .name = "sib"});
  cohort_test::with_watchdog(
      "wait_for inside a child",
      [&] {
        cohort::task_group g(s);
        gate release;
        std::atomic<bool> slow_started{false};
        std::atomic<cohort::task<int>*> slow_handle{nullptr};
        // The waiter is spawned first so that, with one worker, it runs before `slow`.
        auto waiter = g.spawn([&] {
          cohort::task<int>* slow = nullptr;
          EXPECT_TRUE(eventually([&] { return (slow = slow_handle.load()) != nullptr; }));
          if (GetParam() > 1) {
            // With a second worker running `slow`, a short wait must time out. (Waiting
            // earlier could make this worker pick `slow` up itself and block in it.)
            EXPECT_TRUE(eventually([&] { return slow_started.load(); }));
            EXPECT_FALSE(slow->wait_for(20ms)) << "done before it was released";
          }
          release.open();
          EXPECT_TRUE(slow->wait_for(cohort_test::patience()));
          return slow->get();
        });
        auto slow = g.spawn([&] {
          slow_started = true;
          EXPECT_TRUE(release.wait());
          return 5;
        });
        slow_handle = &slow;
        g.join();
        EXPECT_EQ(waiter.get(), 5);
      },
      cohort_test::patience(), [&] { return s.dump(); });
}

TEST_P(sibling_wait, chained_sibling_waits_spawned_from_inside_a_task_do_not_deadlock) {
  // x waits on y; z waits on x. The dependencies are acyclic, so this must finish. Spawned
  // from inside a task, all three sit on one worker's deque as [y, z, x]. The worker
  // joining the group pops x; x waits on y and, helping meanwhile, pops z; z waits on x,
  // which is suspended *below* z on the same thread's stack and cannot resume until z
  // returns: a deadlock however many workers the pool has.
  cohort::scheduler s({.workers = GetParam(), .name = "chain"});
  int result = -1;
  cohort_test::with_watchdog(
      "chained sibling waits",
      [&] {
        cohort::task_group outer(s);
        auto r = outer.spawn([] {
          cohort::task_group g;
          std::vector<cohort::task<int>> t;
          t.reserve(3);
          gate published;  // every handle exists before anyone waits on one
          t.push_back(g.spawn([] { return 10; }, {.name = "y"}));
          t.push_back(g.spawn(
              [&] {
                EXPECT_TRUE(published.wait());
                return t[2].get() + 100;
              },
              {.name = "z waits on x"}));
          t.push_back(g.spawn(
              [&] {
                EXPECT_TRUE(published.wait());
                return t[0].get() + 1;
              },
              {.name = "x waits on y"}));
          published.open();
          g.join();
          return t[1].get();
        });
        outer.join();
        result = r.get();
      },
      std::chrono::milliseconds(cohort_test::under_tsan ? 30'000 : 5'000),
      [&] { return s.dump(); });
  EXPECT_EQ(result, 111);
}

TEST_P(sibling_wait, a_sibling_waiting_on_a_task_that_joins_a_group_elsewhere_does_not_deadlock) {
  // w waits on t; t joins a group whose child runs on another scheduler. The dependencies
  // are acyclic (w -> t -> c). Spawned from inside a task, w and t sit on one worker's
  // deque as [w, t]; the worker runs t, whose join has nothing of its own to pop, so
  // while it waits it must not pick w up: w would wait on t, suspended below it on the
  // same stack, for ever.
  cohort::scheduler s({.workers = GetParam(), .name = "sib"});
  cohort::scheduler elsewhere({.workers = 1, .name = "else"});
  int result = -1;
  cohort_test::with_watchdog(
      "sibling wait on a task joining elsewhere",
      [&] {
        cohort::task_group outer(s);
        auto r = outer.spawn([&elsewhere] {
          cohort::task_group g;
          std::vector<cohort::task<int>> t;
          t.reserve(2);
          gate published;
          t.push_back(g.spawn(
              [&] {
                EXPECT_TRUE(published.wait());
                return t[1].get() + 100;
              },
              {.name = "w waits on t"}));
          t.push_back(g.spawn(
              [&elsewhere] {
                cohort::task_group on_other(elsewhere);
                on_other.spawn([] { std::this_thread::sleep_for(20ms); });
                on_other.join();
                return 1;
              },
              {.name = "t joins a group on another scheduler"}));
          published.open();
          g.join();
          return t[0].get();
        });
        outer.join();
        result = r.get();
      },
      std::chrono::milliseconds(cohort_test::under_tsan ? 30'000 : 5'000),
      [&] { return s.dump(); });
  EXPECT_EQ(result, 101);
}

INSTANTIATE_TEST_SUITE_P(workers, sibling_wait, testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "_workers"; });

// ---- Waiting on yourself is diagnosed ----------------------------------------------------

TEST(task_group, joining_your_own_group_from_inside_a_child_throws_logic_error) {
  cohort::scheduler s({.workers = 2, .name = "self"});
  std::string message;
  cohort_test::with_watchdog("self join", [&] {
    cohort::task_group g(s, {.name = "loop"});
    g.spawn([&] {
      try {
        g.join();
        ADD_FAILURE() << "join from inside returned";
      } catch (const std::logic_error& e) {
        message = e.what();
      }
    });
    g.join();
  });
  EXPECT_NE(message.find("loop"), std::string::npos) << message;
}

TEST(task_group, joining_your_own_group_from_a_grandchild_throws_logic_error) {
  cohort::scheduler s({.workers = 2, .name = "self"});
  std::atomic<bool> threw{false};
  cohort_test::with_watchdog("self join from a grandchild", [&] {
    cohort::task_group g(s);
    g.spawn([&] {
      cohort::task_group inner;
      inner.spawn([&] {
        try {
          g.join();
        } catch (const std::logic_error&) {
          threw = true;
        }
      });
      inner.join();
    });
    g.join();
  });
  EXPECT_TRUE(threw.load());
}

TEST(task_group, get_on_your_own_task_from_inside_itself_throws_logic_error) {
  cohort::scheduler s({.workers = 2, .name = "self"});
  std::atomic<bool> threw{false};
  cohort_test::with_watchdog("get() on itself", [&] {
    cohort::task_group g(s);
    std::atomic<cohort::task<int>*> me{nullptr};
    cohort::task<int> t = g.spawn(
        [&]() -> int {
          cohort::task<int>* self = nullptr;
          EXPECT_TRUE(eventually([&] { return (self = me.load()) != nullptr; }));
          try {
            self->wait();
            ADD_FAILURE() << "wait() on itself returned";
          } catch (const std::logic_error&) {
          }
          try {
            return self->get();
          } catch (const std::logic_error&) {
            threw = true;
          }
          return 3;
        },
        {.name = "narcissus"});
    me = &t;
    g.join();
    EXPECT_EQ(t.get(), 3);
  });
  EXPECT_TRUE(threw.load());
}

}  // namespace
