// SPDX-License-Identifier: Apache-2.0
// task_group and task, part 1: one test (at least) per promise in API.md, "Semantics that
// must hold": nothing is lost, the first failure cancels the siblings, every failure is
// reported, cancelling one task. Part 2 (task_group_join_test.cpp): how join() ends,
// deadlines, max_concurrency. Part 3 (task_group_wait_test.cpp): waits inside workers,
// self-waits, the destructor, finished groups, scope(), where groups are used from.
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

// ---- First failure cancels the siblings ------------------------------------------------

TEST(task_group,
     first_failure_skips_unstarted_siblings_never_calling_them_and_destroys_their_callables) {
  cohort::scheduler s({.workers = 1, .name = "tg1"});  // one worker: the siblings must wait
  auto token = std::make_shared<int>(0);
  std::atomic<int> called{0};
  gate fail_now;
  std::atomic<bool> started{false};
  cohort::task_group g(s);
  auto first = g.spawn([&] {
    started = true;
    EXPECT_TRUE(fail_now.wait());
    throw std::runtime_error("first failure");
  });
  std::vector<cohort::task<int>> siblings;
  for (int i = 0; i < 8; ++i) {
    siblings.push_back(g.spawn([&called, token, i] {
      called.fetch_add(1);
      return i + *token;
    }));
  }
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  EXPECT_EQ(token.use_count(), 9) << "each queued sibling holds its callable";
  fail_now.open();
  EXPECT_THROW(g.join(), cohort::task_group_error);
  EXPECT_EQ(called.load(), 0) << "a sibling started after the first failure";
  EXPECT_EQ(token.use_count(), 1) << "skipped callables were not destroyed";
  EXPECT_EQ(first.status(), task_status::failed);
  for (auto& t : siblings) {
    EXPECT_EQ(t.status(), task_status::cancelled);
    EXPECT_THROW(t.get(), cohort::task_cancelled);
  }
  EXPECT_TRUE(g.cancelled());
}

TEST(task_group, first_failure_requests_stop_on_running_siblings) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  std::atomic<bool> runner_started{false};
  std::atomic<bool> runner_saw_stop{false};
  cohort::task_group g(s);
  auto runner = g.spawn([&](std::stop_token st) {
    runner_started = true;
    runner_saw_stop = wait_for_stop(st);
    return 1;  // returns normally after the cancel: the value is discarded
  });
  auto failer = g.spawn([&] {
    EXPECT_TRUE(eventually([&] { return runner_started.load(); }));
    throw std::runtime_error("boom");
  });
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u) << "a sibling that only observed the cancel is no failure";
    EXPECT_EQ(what_of(e.exceptions()[0]), "boom");
  }
  EXPECT_TRUE(runner_saw_stop.load());
  EXPECT_EQ(runner.status(), task_status::cancelled);
  EXPECT_THROW(runner.get(), cohort::task_cancelled);
  EXPECT_EQ(failer.status(), task_status::failed);
}

TEST(task_group, first_failure_cancels_groups_nested_inside_running_siblings) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  std::atomic<bool> grandchild_started{false};
  std::atomic<bool> grandchild_saw_stop{false};
  std::atomic<bool> nested_join_cancelled{false};
  cohort::task_group g(s);
  auto holder = g.spawn([&] {
    cohort::task_group inner;
    inner.spawn([&](std::stop_token st) {
      grandchild_started = true;
      grandchild_saw_stop = wait_for_stop(st);
    });
    try {
      inner.join();
    } catch (const cohort::task_cancelled&) {
      nested_join_cancelled = true;
      throw;
    }
  });
  g.spawn([&] {
    EXPECT_TRUE(eventually([&] { return grandchild_started.load(); }));
    throw std::runtime_error("boom");
  });
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    EXPECT_EQ(e.exceptions().size(), 1u);
  }
  EXPECT_TRUE(grandchild_saw_stop.load());
  EXPECT_TRUE(nested_join_cancelled.load());
  EXPECT_EQ(holder.status(), task_status::cancelled);
}

TEST(task_group, keep_going_lets_every_child_run_to_the_end) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  constexpr int n = 12;
  std::vector<std::atomic<bool>> finished(n);
  std::atomic<int> stops_seen{0};
  cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going});
  for (int i = 0; i < n; ++i) {
    g.spawn([&, i](std::stop_token st) {
      if (i < 3) throw std::runtime_error("early " + std::to_string(i));
      std::this_thread::sleep_for(3ms);
      if (st.stop_requested()) stops_seen.fetch_add(1);
      finished[i] = true;
    });
  }
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    EXPECT_EQ(e.exceptions().size(), 3u);
  }
  for (int i = 3; i < n; ++i) EXPECT_TRUE(finished[i].load()) << "child " << i;
  EXPECT_EQ(stops_seen.load(), 0);
  EXPECT_FALSE(g.cancelled());
}

// ---- Every failure is reported --------------------------------------------------------

TEST(task_group, every_failure_is_reported_in_spawn_order_in_one_error) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going});
  std::atomic<bool> late_failed{false};
  g.spawn([] {}, {.name = "fetch-0"});
  g.spawn(
      [&] {
        // Fails last in time, first in spawn order.
        EXPECT_TRUE(eventually([&] { return late_failed.load(); }));
        std::this_thread::sleep_for(5ms);
        throw std::runtime_error("reset");
      },
      {.name = "fetch-1"});
  g.spawn([] {}, {.name = "fetch-2"});
  g.spawn(
      [&] {
        late_failed = true;
        throw std::runtime_error("timeout");
      },
      {.name = "fetch-3"});
  g.spawn([] {}, {.name = "fetch-4"});
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 2u);
    EXPECT_EQ(what_of(e.exceptions()[0]), "reset");
    EXPECT_EQ(what_of(e.exceptions()[1]), "timeout");
    EXPECT_STREQ(e.what(), "2 of 5 tasks failed; first: fetch-1: reset");
  }
}

TEST(task_group, concurrent_failures_under_cancel_siblings_are_all_reported) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<int> arrived{0};
  for (int i = 0; i < 2; ++i) {
    g.spawn([&arrived, i] {
      arrived.fetch_add(1);
      // Both are running before either fails: neither is skipped.
      EXPECT_TRUE(eventually([&] { return arrived.load() == 2; }));
      throw std::runtime_error("fail " + std::to_string(i));
    });
  }
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 2u);
    EXPECT_EQ(what_of(e.exceptions()[0]), "fail 0");
    EXPECT_EQ(what_of(e.exceptions()[1]), "fail 1");
  }
}

TEST(task_group, error_message_of_an_unnamed_single_failure) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going});
  g.spawn([] {});
  g.spawn([] { throw std::runtime_error("boom"); });
  g.spawn([] {});
  try {
    g.join();
    FAIL();
  } catch (const cohort::task_group_error& e) {
    EXPECT_STREQ(e.what(), "1 of 3 tasks failed; first: boom");
  }
}

TEST(task_group, a_child_that_throws_task_cancelled_is_not_a_failure) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> sibling_finished{false};
  auto quitter = g.spawn([]() -> int { throw cohort::task_cancelled(); });
  g.spawn([&](std::stop_token st) {
    std::this_thread::sleep_for(10ms);
    EXPECT_FALSE(st.stop_requested()) << "task_cancelled from one child cancelled its siblings";
    sibling_finished = true;
  });
  EXPECT_NO_THROW(g.join());
  EXPECT_TRUE(sibling_finished.load());
  EXPECT_EQ(quitter.status(), task_status::cancelled);
  EXPECT_THROW(quitter.get(), cohort::task_cancelled);
  EXPECT_FALSE(g.cancelled());
}

TEST(task_group, a_child_throwing_a_non_std_exception_is_carried_and_reported) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  auto t = g.spawn([]() -> int { throw 42; }, {.name = "int-thrower"});
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    try {
      std::rethrow_exception(e.exceptions()[0]);
    } catch (int v) {
      EXPECT_EQ(v, 42);
    } catch (...) {
      ADD_FAILURE() << "the int was not carried as is";
    }
    const std::string what = e.what();
    EXPECT_NE(what.find("1 of 1 task"), std::string::npos) << what;
    EXPECT_NE(what.find("int-thrower"), std::string::npos) << what;
    EXPECT_NE(what.find("42"), std::string::npos) << what;
  }
  EXPECT_EQ(t.status(), task_status::failed);
  try {
    t.get();
    ADD_FAILURE() << "get() returned";
  } catch (int v) {
    EXPECT_EQ(v, 42);
  }
}

// ---- Cancelling one task ---------------------------------------------------------------

TEST(task_group, cancelling_a_pending_task_skips_it_and_leaves_its_siblings_alone) {
  cohort::scheduler s({.workers = 1, .name = "tg1"});
  cohort::task_group g(s);
  gate release;
  std::atomic<bool> started{false};
  std::atomic<bool> victim_called{false};
  auto token = std::make_shared<int>(0);
  auto blocker = g.spawn([&] {
    started = true;
    EXPECT_TRUE(release.wait());
    return 1;
  });
  auto victim = g.spawn([&victim_called, token] {
    victim_called = true;
    return 2;
  });
  auto bystander = g.spawn([] { return 3; });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  ASSERT_EQ(victim.status(), task_status::pending);
  victim.cancel();
  release.open();
  EXPECT_NO_THROW(g.join());
  EXPECT_FALSE(victim_called.load());
  EXPECT_EQ(token.use_count(), 1) << "the skipped callable was not destroyed";
  EXPECT_EQ(victim.status(), task_status::cancelled);
  EXPECT_THROW(victim.get(), cohort::task_cancelled);
  EXPECT_EQ(blocker.get(), 1);
  EXPECT_EQ(bystander.get(), 3);
  EXPECT_FALSE(g.cancelled());
}

TEST(task_group, cancelling_a_running_task_requests_its_stop_token_only) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> victim_started{false};
  std::atomic<bool> victim_saw_stop{false};
  std::atomic<bool> victim_done{false};
  auto victim = g.spawn([&](std::stop_token st) {
    victim_started = true;
    victim_saw_stop = wait_for_stop(st);
    victim_done = true;
  });
  auto sibling = g.spawn([&](std::stop_token st) {
    EXPECT_TRUE(eventually([&] { return victim_done.load(); }));
    EXPECT_FALSE(st.stop_requested()) << "cancelling one task stopped its sibling";
    return 7;
  });
  ASSERT_TRUE(eventually([&] { return victim_started.load(); }));
  victim.cancel();
  EXPECT_NO_THROW(g.join());
  EXPECT_TRUE(victim_saw_stop.load());
  EXPECT_EQ(victim.status(), task_status::cancelled);
  EXPECT_EQ(sibling.status(), task_status::succeeded);
  EXPECT_EQ(sibling.get(), 7);
  EXPECT_FALSE(g.cancelled());
  EXPECT_FALSE(g.stop_token().stop_requested());
}

TEST(task_group, cancelling_a_finished_task_changes_nothing) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  auto t = g.spawn([] { return 5; });
  t.wait();
  t.cancel();
  g.join();
  EXPECT_EQ(t.status(), task_status::succeeded);
  EXPECT_EQ(t.get(), 5);
}

TEST(task_group, a_cancelled_childs_result_is_discarded_even_if_it_returns_normally) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> started{false};
  gate cancel_done;
  auto t = g.spawn([&] {
    started = true;
    EXPECT_TRUE(cancel_done.wait());  // ignores its token, returns a value regardless
    return std::make_shared<int>(99);
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  t.cancel();
  cancel_done.open();
  EXPECT_NO_THROW(g.join());
  EXPECT_EQ(t.status(), task_status::cancelled);
  EXPECT_THROW(t.get(), cohort::task_cancelled);
}

TEST(task_group, a_cancelled_childs_result_is_destroyed_when_discarded) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  auto payload = std::make_shared<int>(1);
  {
    cohort::task_group g(s);
    std::atomic<bool> started{false};
    gate cancel_done;
    auto t = g.spawn([&, payload] {
      started = true;
      EXPECT_TRUE(cancel_done.wait());
      return payload;  // a copy in the result slot
    });
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    t.cancel();
    cancel_done.open();
    g.join();
    EXPECT_EQ(t.status(), task_status::cancelled);
    EXPECT_EQ(payload.use_count(), 1) << "the discarded result (or the callable) is still alive";
  }
}

TEST(task_group, a_child_that_fails_after_its_cancellation_is_failed_and_reported) {
  cohort::scheduler s({.workers = 2, .name = "tg"});
  cohort::task_group g(s);
  std::atomic<bool> started{false};
  auto t = g.spawn([&](std::stop_token st) {
    started = true;
    EXPECT_TRUE(wait_for_stop(st));
    throw std::runtime_error("cleanup failed");
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  t.cancel();
  try {
    g.join();
    FAIL() << "join returned normally";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(what_of(e.exceptions()[0]), "cleanup failed");
  }
  EXPECT_EQ(t.status(), task_status::failed);
  EXPECT_THROW(t.get(), std::runtime_error);
}

}  // namespace
