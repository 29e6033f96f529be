// SPDX-License-Identifier: Apache-2.0
// task_group, part 3: waiting never deadlocks nested work (1 and 2 workers), waiting on
// yourself is diagnosed, the destructor of a group nobody joined, a finished group takes
// no more work, scope(), and where groups are used from (threads outside the pool, other
// schedulers). See task_group_test.cpp for the index.
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

// ---- The destructor of a group nobody joined -----------------------------------------------

TEST(task_group, destructor_without_join_cancels_and_waits_for_every_child) {
  cohort::scheduler s({.workers = 2, .name = "dtor"});
  constexpr int running_n = 2;
  std::atomic<int> started{0};
  std::atomic<int> exited{0};
  std::atomic<int> saw_stop{0};
  std::atomic<int> queued_called{0};
  auto token = std::make_shared<int>(0);
  {
    cohort::task_group g(s);
    for (int i = 0; i < running_n; ++i) {
      g.spawn([&](std::stop_token st) {
        started.fetch_add(1);
        if (wait_for_stop(st)) saw_stop.fetch_add(1);
        std::this_thread::sleep_for(10ms);  // still running when the destructor starts waiting
        exited.fetch_add(1);
      });
    }
    ASSERT_TRUE(eventually([&] { return started.load() == running_n; }));
    for (int i = 0; i < 10; ++i) g.spawn([&queued_called, token] { queued_called.fetch_add(1); });
  }  // ~task_group: cancel, wait
  EXPECT_EQ(exited.load(), running_n);
  EXPECT_EQ(saw_stop.load(), running_n);
  EXPECT_EQ(queued_called.load(), 0);
  EXPECT_EQ(token.use_count(), 1);
}

TEST(task_group, destructor_hands_unobserved_failures_to_the_handler_and_never_throws) {
  std::mutex m;
  std::vector<std::pair<std::string, std::string>> seen;
  cohort::scheduler s({.workers = 2, .name = "dtor"});
  s.set_unhandled_exception_handler([&](std::exception_ptr e, std::string_view name) {
    std::lock_guard lock(m);
    seen.emplace_back(std::string(name), what_of(e));
  });
  {
    cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going, .name = "batch"});
    auto unobserved = g.spawn([] { throw std::runtime_error("lost?"); }, {.name = "bad"});
    auto observed = g.spawn([] { throw std::runtime_error("seen"); }, {.name = "good"});
    std::atomic<bool> orphan_started{false};
    g.spawn(
        [&] {
          orphan_started = true;  // once started, it fails whatever happens to the group
          throw std::runtime_error("no handle");
        },
        {.name = "orphan"});
    ASSERT_TRUE(eventually([&] { return orphan_started.load(); }));
    unobserved.wait();  // waiting does not observe the failure
    EXPECT_THROW(observed.get(), std::runtime_error);
  }  // must not throw
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].first.find("bad"), std::string::npos) << seen[0].first;
  EXPECT_NE(seen[0].first.find("batch"), std::string::npos) << seen[0].first;
  EXPECT_EQ(seen[0].second, "lost?");
  EXPECT_NE(seen[1].first.find("orphan"), std::string::npos) << seen[1].first;
  EXPECT_EQ(seen[1].second, "no handle");
}

TEST(task_group, a_group_destroyed_while_an_exception_unwinds_waits_for_its_children) {
  cohort::scheduler s({.workers = 2, .name = "unwind"});
  std::atomic<int> started{0};
  std::atomic<int> exited{0};
  try {
    cohort::task_group g(s);
    for (int i = 0; i < 3; ++i) {
      g.spawn([&](std::stop_token st) {
        started.fetch_add(1);
        wait_for_stop(st);
        exited.fetch_add(1);
      });
    }
    g.spawn([] { throw std::runtime_error("child failure during unwinding"); });
    ASSERT_TRUE(eventually([&] { return started.load() >= 1; }));
    throw std::out_of_range("the owner's own error");
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "the owner's own error");
  }
  EXPECT_EQ(exited.load(), started.load());
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

// ---- scope() -------------------------------------------------------------------------------

TEST(task_group, scope_returns_the_bodys_value_after_joining) {
  cohort::scheduler s({.workers = 2, .name = "scope"});
  std::atomic<int> finished{0};
  const int r = cohort::scope(s, [&](cohort::task_group& g) {
    for (int i = 0; i < 5; ++i) {
      g.spawn([&] {
        std::this_thread::sleep_for(2ms);
        finished.fetch_add(1);
      });
    }
    return 42;
  });
  EXPECT_EQ(r, 42);
  EXPECT_EQ(finished.load(), 5);
  cohort::scope(s, [&](cohort::task_group& g) { g.spawn([&] { finished.fetch_add(1); }); });
  EXPECT_EQ(finished.load(), 6);
}

TEST(task_group, scope_on_the_ambient_scheduler_with_options) {
  std::atomic<int> peak{0};
  std::atomic<int> running{0};
  auto v = cohort::scope(
      [&](cohort::task_group& g) {
        for (int i = 0; i < 10; ++i) {
          g.spawn([&] {
            cohort_test::atomic_max(peak, running.fetch_add(1) + 1);
            std::this_thread::sleep_for(200us);
            running.fetch_sub(1);
          });
        }
        return std::string("ok");
      },
      {.max_concurrency = 1});
  EXPECT_EQ(v, "ok");
  EXPECT_EQ(peak.load(), 1);
}

TEST(task_group, scope_throws_the_group_error_of_its_children) {
  cohort::scheduler s({.workers = 2, .name = "scope"});
  EXPECT_THROW(cohort::scope(s,
                             [](cohort::task_group& g) {
                               g.spawn([] { throw std::runtime_error("child"); });
                               return 1;
                             }),
               cohort::task_group_error);
}

TEST(task_group, scope_whose_body_throws_cancels_and_waits_then_propagates_the_body_error) {
  cohort::scheduler s({.workers = 2, .name = "scope"});
  std::atomic<int> started{0};
  std::atomic<int> exited{0};
  try {
    cohort::scope(s, [&](cohort::task_group& g) {
      g.spawn([&](std::stop_token st) {
        started.fetch_add(1);
        wait_for_stop(st);
        exited.fetch_add(1);
      });
      EXPECT_TRUE(eventually([&] { return started.load() == 1; }));
      throw std::domain_error("body");
    });
    FAIL() << "scope returned";
  } catch (const std::domain_error& e) {
    EXPECT_STREQ(e.what(), "body");
  }
  EXPECT_EQ(exited.load(), 1);
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
