// SPDX-License-Identifier: Apache-2.0
// CPython's asyncio task tests, the parts that map to cohort's combinators: gather, wait,
// as_completed, cancellation of tasks (Lib/test/test_asyncio/test_tasks.py, its
// GatherTestsBase/FutureGatherTests/CoroutineGatherTests). wait_for, which later moved to
// Lib/test/test_asyncio/test_waitfor.py, is in ported_cpython_waitfor_test.cpp.
// Each TEST is named after its original. Scenarios are ported, not code; times are
// scaled (0.1 s -> 10 ms; "sleep(10)" waits for the cancel, bounded).
//
// Deliberate differences:
//  - gather's failure is a task_group_error holding the failures (asyncio raises the first
//    exception itself); the siblings are cancelled, not left running.
//  - A task's result is discarded once it was cancelled before it finished
//    (test_cancel_task_catching/test_cancel_task_ignoring: asyncio returns 42, cohort
//    ends the task cancelled); another exception thrown after the cancel makes it failed
//    (test_baseexception_during_cancel).
//  - cohort::wait takes task handles (no coroutines, no duplicates collapsed): waiting on
//    the same handle twice reports both positions (test_wait_duplicate_coroutines,
//    test_as_completed_duplicate_coroutines); an empty wait returns at once instead of
//    raising ValueError (test_wait_errors).
// Not ported (no counterpart): task repr/stack/coroutine-wrapper/loop tests, shield, the
// as_completed futures awaited out of order (test_as_completed_reverse_wait),
// test_yield_wait_does_not_shield_cancel (a wait is not a cancellation point here),
// run_coroutine_threadsafe, sleep.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "ported_support.hpp"

namespace {

using namespace std::chrono_literals;
using ported::sleep_or_cancelled;
using ported::sleep_until_cancelled;

cohort::scheduler_options pool_options() {
  return {.workers = 2, .name = "cpy-tasks"};
}

// ---- cancellation of one task -----------------------------------------------------------

// Ports test_cancel: a sleeping task cancelled; a second cancel changes nothing.
TEST(cpython_tasks, test_cancel) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  auto t = g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 10000ms);
    return 12;
  });
  t.cancel();
  g.join();
  EXPECT_TRUE(t.done());
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
  EXPECT_THROW(t.get(), cohort::task_cancelled);
  t.cancel();
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

// Ports test_cancel_yield: the same once the task is known to run.
TEST(cpython_tasks, test_cancel_yield) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::atomic<bool> started{false};
  auto t = g.spawn([&](std::stop_token st) {
    started = true;
    sleep_until_cancelled(st);
    return 12;
  });
  ASSERT_TRUE(ported::wait_flag(started));
  t.cancel();
  g.join();
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

// Ports test_cancel_task_catching: the task catches the cancel and returns 42; its result
// is discarded (difference): it ends cancelled.
TEST(cpython_tasks, test_cancel_task_catching) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::atomic<bool> started{false};
  auto t = g.spawn([&](std::stop_token st) {
    started = true;
    try {
      sleep_until_cancelled(st);
    } catch (const cohort::task_cancelled&) {
      return 42;
    }
    return 0;
  });
  ASSERT_TRUE(ported::wait_flag(started));
  t.cancel();
  g.join();
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

// Ports test_cancel_task_ignoring: the task ignores the cancel and goes on; still cancelled.
TEST(cpython_tasks, test_cancel_task_ignoring) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::atomic<bool> started{false}, went_on{false};
  auto t = g.spawn([&](std::stop_token st) {
    started = true;
    try {
      sleep_until_cancelled(st);
    } catch (const cohort::task_cancelled&) {
    }
    std::this_thread::sleep_for(5ms);
    went_on = true;
    return 42;
  });
  ASSERT_TRUE(ported::wait_flag(started));
  t.cancel();
  g.join();
  EXPECT_TRUE(went_on.load());
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

// Ports test_cancel_current_task: a task cancels itself; its next sleep is cancelled.
TEST(cpython_tasks, test_cancel_current_task) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  cohort::task<int> t;
  std::atomic<bool> published{false};
  t = g.spawn([&](std::stop_token st) {
    EXPECT_TRUE(ported::wait_flag(published));
    t.cancel();
    sleep_or_cancelled(st, 10000ms);
    return 12;
  });
  published = true;
  g.join();
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

// Ports test_task_cancel_sleeping_task: a waiter sees the sleeper's cancel as task_cancelled.
TEST(cpython_tasks, test_task_cancel_sleeping_task) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  auto sleeper = g.spawn([](std::stop_token st) { sleep_or_cancelled(st, 5000ms); });
  auto doit = g.spawn([&]() -> std::string {
    std::this_thread::sleep_for(10ms);
    sleeper.cancel();
    try {
      sleeper.get();
    } catch (const cohort::task_cancelled&) {
      return "cancelled";
    }
    return "slept in";
  });
  g.join();
  EXPECT_EQ(doit.get(), "cancelled");
}

// Ports test_baseexception_during_cancel: answering a cancel with another exception makes
// the task failed with it, not cancelled.
TEST(cpython_tasks, test_baseexception_during_cancel) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool, {.on_failure = cohort::failure_policy::keep_going});
  std::atomic<bool> started{false};
  auto t = g.spawn([&](std::stop_token st) {
    started = true;
    try {
      sleep_until_cancelled(st);
    } catch (const cohort::task_cancelled&) {
      throw 7;  // asyncio: raise base_exc
    }
  });
  ASSERT_TRUE(ported::wait_flag(started));
  t.cancel();
  EXPECT_THROW(g.join(), cohort::task_group_error);
  EXPECT_EQ(t.status(), cohort::task_status::failed);
  EXPECT_TRUE(ported::holds<int>(t.exception()));
}

// ---- wait --------------------------------------------------------------------------------

// Ports test_wait: all_completed returns both, and again at once.
TEST(cpython_tasks, test_wait) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::vector<cohort::task<void>> ts;
  ts.push_back(g.spawn([](std::stop_token st) { sleep_or_cancelled(st, 15ms); }));  // b
  ts.push_back(g.spawn([](std::stop_token st) { sleep_or_cancelled(st, 10ms); }));  // a
  for (int round = 0; round < 2; ++round) {
    auto r = cohort::wait(ts);
    EXPECT_EQ(r.done.size(), 2u);
    EXPECT_TRUE(r.pending.empty());
  }
  g.join();
}

// Ports test_wait_duplicate_coroutines: the same handle twice (positions, not sets).
TEST(cpython_tasks, test_wait_duplicate_coroutines) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  auto c = g.spawn([] { return std::string("test"); });
  auto spam = g.spawn([] { return std::string("spam"); });
  auto r = cohort::wait(std::tie(c, c, spam));
  EXPECT_EQ(r.done, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_TRUE(r.pending.empty());
  EXPECT_EQ(c.get(), "test");
  EXPECT_EQ(spam.get(), "spam");
  g.join();
}

// Ports test_wait_errors: an empty wait (asyncio: ValueError) returns at once, empty.
TEST(cpython_tasks, test_wait_errors) {
  std::vector<cohort::task<int>> none;
  auto r = cohort::wait(none);
  EXPECT_TRUE(r.done.empty());
  EXPECT_TRUE(r.pending.empty());
}

// Ports test_wait_first_completed.
TEST(cpython_tasks, test_wait_first_completed) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::vector<cohort::task<void>> ts;
  ts.push_back(g.spawn([](std::stop_token st) { sleep_or_cancelled(st, 10ms); }));  // b
  ts.push_back(g.spawn([](std::stop_token st) { sleep_until_cancelled(st); }));     // a
  auto r = cohort::wait(ts, cohort::wait_policy::first_completed);
  EXPECT_EQ(r.done, std::vector<std::size_t>{0});
  EXPECT_EQ(r.pending, std::vector<std::size_t>{1});
  EXPECT_FALSE(ts[1].done());
  EXPECT_TRUE(ts[0].done());
  ts[1].cancel();
  g.join();
}

// Ports test_wait_really_done: tasks already done all show as done.
TEST(cpython_tasks, test_wait_really_done) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::vector<cohort::task<void>> ts;
  ts.push_back(g.spawn([] {}));
  ts.push_back(g.spawn([] {}));
  ASSERT_TRUE(cohort_test::eventually([&] { return ts[0].done() && ts[1].done(); }));
  auto r = cohort::wait(ts, cohort::wait_policy::first_completed);
  EXPECT_EQ(r.done.size(), 2u);
  g.join();
}

// Ports test_wait_first_exception: a task that already failed ends the wait.
TEST(cpython_tasks, test_wait_first_exception) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool, {.on_failure = cohort::failure_policy::keep_going});
  std::vector<cohort::task<void>> ts;
  ts.push_back(g.spawn([] { throw ported::zero_division(); }));                  // b
  ts.push_back(g.spawn([](std::stop_token st) { sleep_until_cancelled(st); }));  // a
  ASSERT_TRUE(cohort_test::eventually([&] { return ts[0].done(); }));
  auto r = cohort::wait(ts, cohort::wait_policy::first_exception);
  EXPECT_EQ(r.done, std::vector<std::size_t>{0});
  EXPECT_EQ(r.pending, std::vector<std::size_t>{1});
  ts[1].cancel();
  EXPECT_THROW(g.join(), cohort::task_group_error);
}

// Ports test_wait_first_exception_in_wait: the failure comes during the wait.
TEST(cpython_tasks, test_wait_first_exception_in_wait) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool, {.on_failure = cohort::failure_policy::keep_going});
  std::vector<cohort::task<void>> ts;
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 10ms);
    throw ported::zero_division();
  }));
  ts.push_back(g.spawn([](std::stop_token st) { sleep_until_cancelled(st); }));
  auto r = cohort::wait(ts, cohort::wait_policy::first_exception);
  EXPECT_EQ(r.done, std::vector<std::size_t>{0});
  EXPECT_EQ(r.pending, std::vector<std::size_t>{1});
  ts[1].cancel();
  EXPECT_THROW(g.join(), cohort::task_group_error);
}

// Ports test_wait_with_exception: all_completed counts a failed task as done.
TEST(cpython_tasks, test_wait_with_exception) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool, {.on_failure = cohort::failure_policy::keep_going});
  std::vector<cohort::task<void>> ts;
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 15ms);
    throw ported::zero_division();
  }));
  ts.push_back(g.spawn([](std::stop_token st) { sleep_or_cancelled(st, 10ms); }));
  for (int round = 0; round < 2; ++round) {
    auto r = cohort::wait(ts);
    EXPECT_EQ(r.done.size(), 2u);
    int errors = 0;
    for (auto& t : ts) errors += t.exception() != nullptr;
    EXPECT_EQ(errors, 1);
  }
  EXPECT_THROW(g.join(), cohort::task_group_error);
}

// Ports test_wait_with_timeout (and test_wait_concurrent_complete): the short one is done
// at the timeout, the long one pending and not cancelled.
TEST(cpython_tasks, test_wait_with_timeout) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::vector<cohort::task<void>> ts;
  ts.push_back(g.spawn([](std::stop_token st) { sleep_until_cancelled(st); }));    // b
  ts.push_back(g.spawn([](std::stop_token st) { sleep_or_cancelled(st, 5ms); }));  // a
  auto r = cohort::wait(ts, cohort::wait_policy::all_completed, 200ms);
  EXPECT_EQ(r.done, std::vector<std::size_t>{1});
  EXPECT_EQ(r.pending, std::vector<std::size_t>{0});
  EXPECT_FALSE(ts[0].done());
  ts[0].cancel();
  g.join();
}

// ---- as_completed ------------------------------------------------------------------------

// Ports test_as_completed: completion order, twice.
TEST(cpython_tasks, test_as_completed) {
  cohort::scheduler pool({.workers = 3, .name = "cpy-tasks"});
  cohort::task_group g(pool);
  std::vector<cohort::task<char>> ts;
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 5ms);
    return 'b';
  }));
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 150ms);
    return 'c';
  }));
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 5ms);
    return 'a';
  }));
  for (int round = 0; round < 2; ++round) {
    std::string order;
    for (auto& t : cohort::as_completed(ts)) order += t.get();
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(order[2], 'c');
  }
  g.join();
}

// Ports test_as_completed_with_timeout: the first comes, then timeout_error.
TEST(cpython_tasks, test_as_completed_with_timeout) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::vector<cohort::task<char>> ts;
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 5ms);
    return 'a';
  }));
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_until_cancelled(st);
    return 'b';
  }));
  std::vector<std::pair<int, char>> values;
  try {
    for (auto& t : cohort::as_completed(ts, 100ms)) values.emplace_back(1, t.get());
  } catch (const cohort::timeout_error&) {
    values.emplace_back(2, '?');
  }
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], std::make_pair(1, 'a'));
  EXPECT_EQ(values[1].first, 2);
  ts[1].cancel();
  g.join();
}

// Ports test_as_completed_with_unused_timeout.
TEST(cpython_tasks, test_as_completed_with_unused_timeout) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::vector<cohort::task<char>> ts;
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 5ms);
    return 'a';
  }));
  for (auto& t : cohort::as_completed(ts, 10000ms)) EXPECT_EQ(t.get(), 'a');
  g.join();
}

// Ports test_as_completed_concurrent: two finishing together are both yielded.
TEST(cpython_tasks, test_as_completed_concurrent) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  std::vector<cohort::task<char>> ts;
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 5ms);
    return 'a';
  }));
  ts.push_back(g.spawn([](std::stop_token st) {
    sleep_or_cancelled(st, 5ms);
    return 'b';
  }));
  std::string got;
  for (auto& t : cohort::as_completed(ts)) got += t.get();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, "ab");
  g.join();
}

// Ports test_as_completed_duplicate_coroutines: positions, not values (difference).
TEST(cpython_tasks, test_as_completed_duplicate_coroutines) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  auto ham = g.spawn([] { return std::string("ham"); });
  auto spam = g.spawn([] { return std::string("spam"); });
  std::vector<std::size_t> seen;
  for (std::size_t i : cohort::as_completed(std::tie(ham, ham, spam))) seen.push_back(i);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 2}));
  g.join();
}

// ---- gather ------------------------------------------------------------------------------

// Ports GatherTestsBase.test_success: results in argument order whatever the finishing order.
TEST(cpython_gather, test_success) {
  cohort::scheduler pool({.workers = 3, .name = "cpy-gather"});
  auto [a, b, c] = cohort::gather(
      pool,
      [](std::stop_token st) {
        sleep_or_cancelled(st, 5ms);
        return 2;
      },
      [] { return 1; },
      [](std::stop_token st) {
        sleep_or_cancelled(st, 10ms);
        return 3;
      });
  EXPECT_EQ(std::vector<int>({a, b, c}), std::vector<int>({2, 1, 3}));
}

// Ports test_result_exception_success: the same through gather_settled.
TEST(cpython_gather, test_result_exception_success) {
  cohort::scheduler pool(pool_options());
  auto [a, b, c] = cohort::gather_settled(
      pool, [] { return 2; }, [] { return 1; }, [] { return 3; });
  EXPECT_EQ(a.value(), 2);
  EXPECT_EQ(b.value(), 1);
  EXPECT_EQ(c.value(), 3);
}

// Ports test_one_exception: the failure comes back (in a task_group_error: difference)
// and the siblings still running are cancelled.
TEST(cpython_gather, test_one_exception) {
  cohort::scheduler pool({.workers = 3, .name = "cpy-gather"});
  std::atomic<int> cancelled{0};
  auto sleeper = [&](std::stop_token st) {
    try {
      sleep_until_cancelled(st);
    } catch (const cohort::task_cancelled&) {
      ++cancelled;
      throw;
    }
    return 0;
  };
  try {
    cohort::gather(
        pool, [] { return 1; }, []() -> int { throw ported::zero_division(); }, sleeper, sleeper);
    ADD_FAILURE() << "gather returned";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_TRUE(ported::holds<ported::zero_division>(e.exceptions()[0]));
  }
  EXPECT_LE(cancelled.load(), 2);
}

// Ports test_return_exceptions: gather_settled keeps every failure in place.
TEST(cpython_gather, test_return_exceptions) {
  cohort::scheduler pool(pool_options());
  auto [a, b, c, d] = cohort::gather_settled(
      pool, [] { return 3; }, [] { return 1; }, []() -> int { throw ported::zero_division(); },
      []() -> int { throw std::runtime_error("exc2"); });
  EXPECT_EQ(a.value(), 3);
  EXPECT_EQ(b.value(), 1);
  EXPECT_TRUE(ported::holds<ported::zero_division>(c.error()));
  EXPECT_TRUE(ported::holds<std::runtime_error>(d.error()));
}

// Ports FutureGatherTests.test_constructor_empty_sequence: gather over nothing is empty.
TEST(cpython_gather, test_constructor_empty_sequence) {
  cohort::scheduler pool(pool_options());
  std::vector<int> none;
  EXPECT_TRUE(cohort::gather(pool, none, [](int x) { return x; }).empty());
  EXPECT_TRUE(cohort::gather_settled(pool, none, [](int x) { return x; }).empty());
}

// Ports test_one_cancellation: a callable that ends cancelled makes gather throw
// task_cancelled (asyncio: its exception() is a CancelledError).
TEST(cpython_gather, test_one_cancellation) {
  cohort::scheduler pool(pool_options());
  EXPECT_THROW(cohort::gather(
                   pool, [] { return 1; }, []() -> int { throw cohort::task_cancelled(); },
                   [] { return 3; }),
               cohort::task_cancelled);
}

// Ports test_result_exception_one_cancellation: gather_settled reports the cancelled ones
// in place, next to values and failures.
TEST(cpython_gather, test_result_exception_one_cancellation) {
  cohort::scheduler pool(pool_options());
  auto r = cohort::gather_settled(
      pool, [] { return 1; }, []() -> int { throw ported::zero_division(); },
      []() -> int { throw cohort::task_cancelled(); }, [] { return 3; },
      []() -> int { throw cohort::task_cancelled(); },
      []() -> int { throw std::runtime_error("rte"); });
  EXPECT_EQ(std::get<0>(r).value(), 1);
  EXPECT_TRUE(ported::holds<ported::zero_division>(std::get<1>(r).error()));
  EXPECT_TRUE(std::get<2>(r).cancelled());
  EXPECT_EQ(std::get<3>(r).value(), 3);
  EXPECT_TRUE(std::get<4>(r).cancelled());
  EXPECT_TRUE(ported::holds<std::runtime_error>(std::get<5>(r).error()));
}

// Ports CoroutineGatherTests.test_duplicate_coroutines: the same callable four times.
TEST(cpython_gather, test_duplicate_coroutines) {
  cohort::scheduler pool(pool_options());
  std::atomic<int> calls{0};
  auto c = [&] {
    ++calls;
    return std::string("abc");
  };
  auto [x, y, z, w] = cohort::gather(
      pool, c, c, [] { return std::string("def"); }, c);
  EXPECT_EQ(x + y + z + w, "abcabcdefabc");
  EXPECT_EQ(calls.load(), 3);
}

// Ports test_cancellation_broadcast: cancelling the task that gathers cancels every child.
TEST(cpython_gather, test_cancellation_broadcast) {
  cohort::scheduler pool({.workers = 3, .name = "cpy-gather"});
  std::atomic<int> proof{0}, started{0};
  cohort::task_group g(pool);
  auto inner = [&](std::stop_token st) {
    ++started;
    sleep_until_cancelled(st);
    proof += 1;
    return 0;
  };
  auto outer = g.spawn([&] {
    cohort::gather(inner, inner);
    proof += 100;
  });
  ASSERT_TRUE(cohort_test::eventually([&] { return started.load() == 2; }));
  outer.cancel();
  g.join();
  EXPECT_EQ(outer.status(), cohort::task_status::cancelled);
  EXPECT_EQ(proof.load(), 0);
}

// Ports test_exception_marking: gather's failure becomes the outer task's failure.
TEST(cpython_gather, test_exception_marking) {
  cohort::scheduler pool(pool_options());
  cohort::task_group g(pool);
  auto f = g.spawn([] {
    cohort::gather([]() -> int { throw std::runtime_error("should not be ignored"); },
                   []() -> int { throw std::runtime_error("should not be ignored"); });
  });
  EXPECT_THROW(g.join(), cohort::task_group_error);
  EXPECT_EQ(f.status(), cohort::task_status::failed);
  EXPECT_TRUE(ported::holds<cohort::task_group_error>(f.exception()));
}

}  // namespace
