// SPDX-License-Identifier: Apache-2.0
// task_group, part 2: how join() ends (failure, own deadline, enclosing cancel, own cancel,
// in that order), deadlines, max_concurrency. See task_group_test.cpp for the index.
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

// How a nested group's join ended, seen from inside the child that owns it.
enum class join_end { none, returned, group_error, timeout, cancelled, other };

join_end classify(cohort::task_group& g) {
  try {
    g.join();
    return join_end::returned;
  } catch (const cohort::task_group_error&) {
    return join_end::group_error;
  } catch (const cohort::timeout_error&) {
    return join_end::timeout;
  } catch (const cohort::task_cancelled&) {
    return join_end::cancelled;
  } catch (...) {
    return join_end::other;
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
    inner.cancel_after(1ms);
    inner.spawn([](std::stop_token st) {
      EXPECT_TRUE(wait_for_stop(st));
      std::this_thread::sleep_for(100ms);  // the outer cancel comes too
      throw std::runtime_error("real failure");
    });
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
