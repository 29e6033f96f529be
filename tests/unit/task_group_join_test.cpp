// SPDX-License-Identifier: Apache-2.0
// task_group: how join() ends (failure, own deadline, enclosing cancel, own cancel, in
// that order), deadlines, the destructor of a group nobody joined, scope().
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

// ---- How join() ends -------------------------------------------------------------------

TEST(task_group, join_returns_normally_after_the_groups_own_cancel) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<int> started{0};
  std::atomic<int> saw_stop{0};
  std::vector<cohort::task<void>> tasks;
  for (int i = 0; i < 2; ++i) {
    tasks.push_back(g.spawn([&](std::stop_token st) {
      started.fetch_add(1);
      if (wait_for_stop(st)) saw_stop.fetch_add(1);
    }));
  }
  ASSERT_TRUE(eventually([&] { return started.load() == 2; }));
  EXPECT_FALSE(g.stop_token().stop_requested());
  g.cancel();
  EXPECT_TRUE(g.cancelled());
  EXPECT_TRUE(g.stop_token().stop_requested());
  EXPECT_NO_THROW(g.join());
  EXPECT_EQ(saw_stop.load(), 2);
  for (auto& t : tasks) EXPECT_EQ(t.status(), task_status::cancelled);
}

TEST(task_group, join_throws_timeout_error_when_its_own_deadline_passes) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> saw_stop{false};
  const auto t0 = std::chrono::steady_clock::now();
  g.cancel_after(50ms);
  auto t = g.spawn([&](std::stop_token st) { saw_stop = wait_for_stop(st); });
  EXPECT_THROW(g.join(), cohort::timeout_error);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 45ms);
  EXPECT_TRUE(saw_stop.load());
  EXPECT_EQ(t.status(), task_status::cancelled);
  EXPECT_TRUE(g.cancelled());
}

TEST(task_group, a_deadline_that_does_not_pass_changes_nothing) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  const auto t0 = std::chrono::steady_clock::now();
  {
    cohort::task_group g(s);
    g.cancel_after(30s);
    auto t = g.spawn([] { return 1; });
    EXPECT_NO_THROW(g.join());
    EXPECT_EQ(t.get(), 1);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s)
      << "join or the destructor waited for the deadline";
}

TEST(task_group, replacing_and_cancelling_pending_deadlines_is_memory_safe_and_timers_still_fire) {
  // The timer thread sleeps until the earliest deadline; that deadline is then replaced
  // (cancel_after again) and cancelled (join) while it sleeps. (Under AddressSanitizer
  // this catches a timer that keeps a reference to an erased entry.)
  cohort::scheduler s({.workers = 2, .name = "tg"});
  {
    cohort::task_group g(s);
    g.cancel_after(30s);
    std::this_thread::sleep_for(20ms);  // the timer thread now waits for the 30 s entry
    g.cancel_after(20s);                // erases it, and wakes the timer for the new one
    std::this_thread::sleep_for(20ms);
    auto t = g.spawn([] { return 1; });
    EXPECT_NO_THROW(g.join());  // erases the 20 s entry
    EXPECT_EQ(t.get(), 1);
  }
  cohort::task_group g(s);
  g.cancel_after(10ms);  // wakes the timer thread again
  g.spawn([](std::stop_token st) { EXPECT_TRUE(wait_for_stop(st)); });
  EXPECT_THROW(g.join(), cohort::timeout_error);
}

TEST(task_group, a_group_past_its_deadline_skips_new_children_and_join_throws_timeout_error) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  g.cancel_after(1ms);
  std::this_thread::sleep_for(30ms);  // passes with no child unfinished
  std::atomic<bool> called{false};
  auto t = g.spawn([&] { called = true; });
  EXPECT_THROW(g.join(), cohort::timeout_error);
  EXPECT_FALSE(called.load());
  EXPECT_EQ(t.status(), task_status::cancelled);
}

TEST(task_group, a_new_deadline_replaces_one_that_passed_while_the_group_was_idle) {
  // The first deadline passes with no child unfinished (which changes nothing); the owner
  // then sets a new, later one. Children spawned now must run: the deadline in force has
  // not passed.
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  g.cancel_after(1ms);
  std::this_thread::sleep_for(30ms);
  g.cancel_after(30s);
  std::atomic<bool> called{false};
  auto t = g.spawn([&] { called = true; });
  EXPECT_NO_THROW(g.join());
  EXPECT_TRUE(called.load());
  EXPECT_EQ(t.status(), task_status::succeeded);
}

TEST(task_group, join_reports_a_failure_rather_than_the_deadline) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  g.cancel_after(20ms);
  g.spawn([](std::stop_token st) {
    EXPECT_TRUE(wait_for_stop(st));
    throw std::runtime_error("failed while being cancelled");
  });
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(what_of(e.exceptions()[0]), "failed while being cancelled");
  } catch (const cohort::timeout_error&) {
    FAIL() << "timeout_error hid a failure";
  }
}

// Runs an outer group whose only child owns an inner group; `setup(inner)` runs inside
// the child before the inner join; the test cancels the outer group (enclosing cancel)
// once the inner join is under way if `cancel_outer`.
join_end inner_join_end(bool cancel_outer, const std::function<void(cohort::task_group&)>& setup) {
  cohort::scheduler s({.workers = 3, .name = "nest"});
  std::atomic<join_end> result{join_end::none};
  std::atomic<bool> joining{false};
  cohort::task_group outer(s);
  outer.spawn([&] {
    cohort::task_group inner;
    setup(inner);
    joining = true;
    const join_end r = classify(inner);
    result = r;
    if (r == join_end::cancelled) throw cohort::task_cancelled();
  });
  EXPECT_TRUE(eventually([&] { return joining.load(); }));
  if (cancel_outer) {
    std::this_thread::sleep_for(5ms);  // well inside the inner join
    outer.cancel();
  }
  EXPECT_NO_THROW(outer.join());
  return result.load();
}

TEST(task_group, join_ending_order_failure_wins_over_everything) {
  const join_end r = inner_join_end(true, [](cohort::task_group& inner) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    inner.spawn([started](std::stop_token st) {
      started->store(true);
      EXPECT_TRUE(wait_for_stop(st));
      std::this_thread::sleep_for(100ms);  // the outer cancel comes too
      throw std::runtime_error("real failure");
    });
    // The deadline once the child runs: set before, a child not started within 1 ms (a
    // loaded machine under TSan) was skipped, and the join saw only the timeout.
    EXPECT_TRUE(eventually([&] { return started->load(); }));
    inner.cancel_after(1ms);
  });
  EXPECT_EQ(r, join_end::group_error);
}

TEST(task_group, join_ending_order_own_deadline_wins_over_an_enclosing_cancel) {
  const join_end r = inner_join_end(true, [](cohort::task_group& inner) {
    inner.cancel_after(1ms);
    inner.spawn([](std::stop_token st) {
      EXPECT_TRUE(wait_for_stop(st));
      std::this_thread::sleep_for(100ms);  // the outer cancel lands before the join ends
    });
  });
  EXPECT_EQ(r, join_end::timeout);
}

TEST(task_group, join_ending_order_enclosing_cancel_throws_task_cancelled) {
  const join_end r = inner_join_end(true, [](cohort::task_group& inner) {
    inner.spawn([](std::stop_token st) { EXPECT_TRUE(wait_for_stop(st)); });
  });
  EXPECT_EQ(r, join_end::cancelled);
}

TEST(task_group, join_ending_order_enclosing_cancel_wins_over_own_cancel) {
  const join_end r = inner_join_end(true, [](cohort::task_group& inner) {
    inner.spawn([&inner](std::stop_token st) {
      inner.cancel();  // our own cancel first...
      EXPECT_TRUE(wait_for_stop(st));
      std::this_thread::sleep_for(100ms);  // ...then the enclosing one lands
    });
  });
  EXPECT_EQ(r, join_end::cancelled);
}

TEST(task_group, join_ending_order_own_cancel_returns_normally) {
  const join_end r = inner_join_end(false, [](cohort::task_group& inner) {
    inner.spawn([&inner](std::stop_token st) {
      inner.cancel();
      EXPECT_TRUE(wait_for_stop(st));
    });
  });
  EXPECT_EQ(r, join_end::returned);
}

// ---- The joiner's credit -------------------------------------------------------------------
// A joiner that runs its group's children on its own thread counts their ends there and
// takes them off the group's count in one step (lib/task_group.cpp, join_credit). Only
// that group's children may count there: a sibling of the outer group that ends inside
// a nested group's join counts for the outer group, and a child spawned into the group
// while it is being joined counts like the others. A wrong attribution leaves one of the
// counts above zero for ever (the watchdog ends the test) or takes one below zero.
TEST(task_group, children_ended_inside_a_nested_join_count_for_their_own_group) {
  cohort::scheduler s({.workers = 1});
  cohort_test::with_watchdog("nested credited joins", [&] {
    for (int round = 0; round < 200; ++round) {
      auto [total] = cohort::gather(s, [] {
        cohort::task_group outer;
        std::atomic<int> ran{0};
        cohort::task<int> late;  // spawned into `outer` while it is being joined
        auto b = outer.spawn([&] { return ++ran, 2; });
        auto c = outer.spawn([&] { return ++ran, 3; });
        auto a = outer.spawn([&] {
          ++ran;
          cohort::task_group inner;
          // Run inside inner's join on this thread: b ends there, a child of `outer`.
          auto x = inner.spawn([&] { return b.get() * 10; });
          auto y = inner.spawn([&] { return c.get() * 100; });
          inner.join();
          late = outer.spawn([&] { return ++ran, 5; });
          return x.get() + y.get();
        });
        outer.join();
        EXPECT_EQ(ran.load(), 4);
        EXPECT_EQ(outer.cancelled(), false);
        return a.get() + b.get() + c.get() + late.get();
      });
      ASSERT_EQ(total, 320 + 2 + 3 + 5);
    }
  });
}

// The same from a thread outside the pool, which joins in its slot, with two workers
// taking children of both groups in a row on credit of their own while the joiner runs
// others on its credit. The second group's children run children of the first, queued
// and unstarted, inline (child_run_inline): those count for the first group. (The joiner
// runs the first group's children newest first, the workers take the second's oldest
// first, and b[i] waits on a[i]: the low ones are still queued.)
TEST(task_group, credited_ends_on_workers_and_an_outside_joiner_add_up) {
  cohort::scheduler s({.workers = 2});
  cohort_test::with_watchdog("credited joins from outside", [&] {
    for (int round = 0; round < 300; ++round) {
      cohort::task_group first(s);
      cohort::task_group second(s);
      std::atomic<int> ran{0};
      std::atomic<bool> ready{false};
      std::vector<cohort::task<int>> a;
      std::vector<cohort::task<int>> b;
      a.reserve(16);  // read by b's children once `ready` is set
      b.reserve(16);
      for (int i = 0; i < 16; ++i) {
        b.push_back(second.spawn([&, i] {
          EXPECT_TRUE(cohort_test::poll_until([&] { return ready.load(); }));
          ++ran;
          return i % 2 == 0 ? a[static_cast<std::size_t>(i)].get() : i;
        }));
      }
      for (int i = 0; i < 16; ++i) a.push_back(first.spawn([&ran, i] { return ++ran, i; }));
      ready = true;
      first.join();
      second.join();
      ASSERT_EQ(ran.load(), 32);
      int sum = 0;
      for (auto& t : a) sum += t.get();
      for (auto& t : b) sum += t.get();
      ASSERT_EQ(sum, 2 * 120);  // a: 0..15; b: i itself, or a[i] = i
    }
  });
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

}  // namespace
