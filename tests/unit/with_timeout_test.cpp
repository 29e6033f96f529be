// SPDX-License-Identifier: Apache-2.0
// with_timeout: deadlines that fire and that don't, the callable never outliving the
// call, f's own exception as itself, enclosing cancels. race is in race_test.cpp.
//
// Determinism: deadlines are either far away (seconds: they must not fire) or short with
// callables that run until their stop token is requested (they must fire). Nothing asserts
// how fast anything runs; elapsed time is only checked from below.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort_test::boom;
using cohort_test::label;
using cohort_test::poll_until;

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// ===== with_timeout =====================================================================

TEST(with_timeout, returns_the_value_when_in_time) {
  cohort::scheduler s({.workers = 2, .name = "wt"});
  EXPECT_EQ(cohort::with_timeout(s, 10s, [] { return 42; }), 42);
  EXPECT_EQ(cohort::with_timeout(s, 10s, [](std::stop_token st) { return st.stop_requested(); }),
            false);
  auto p = cohort::with_timeout(
      s, 10s, [q = std::make_unique<int>(5)] { return std::make_unique<int>(*q + 1); });
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 6);
}

TEST(with_timeout, void_callable) {
  cohort::scheduler s({.workers = 2, .name = "wt"});
  std::atomic<bool> ran{false};
  static_assert(std::is_void_v<decltype(cohort::with_timeout(s, 1s, [] {}))>);
  cohort::with_timeout(s, 10s, [&] { ran = true; });
  EXPECT_TRUE(ran.load());
}

TEST(with_timeout, a_deadline_that_passes_after_the_callable_returned_changes_nothing) {
  cohort::scheduler s({.workers = 2, .name = "wt"});
  EXPECT_EQ(cohort::with_timeout(s, 20ms, [] { return 1; }), 1);
  std::this_thread::sleep_for(40ms);  // the (cancelled) deadline would have fired by now
  EXPECT_EQ(cohort::with_timeout(s, 20ms, [] { return 2; }), 2);
}

TEST(with_timeout, many_calls_in_time_one_after_another) {
  // Each call arms a deadline and cancels it when f returns in time; the next call arms a
  // new one while the timer thread still sleeps towards the cancelled one. (Under
  // AddressSanitizer this catches the timer thread touching a cancelled entry.)
  cohort::scheduler s({.workers = 2, .name = "wt"});
  int sum = 0;
  for (int i = 0; i < 20; ++i)
    sum += cohort::with_timeout(s, 10s, [i] {
      std::this_thread::sleep_for(2ms);
      return i;
    });
  EXPECT_EQ(sum, 190);
}

TEST(with_timeout, late_callable_is_cancelled_and_has_ended_when_timeout_error_is_thrown) {
  cohort::scheduler s({.workers = 2, .name = "wt"});
  std::atomic<bool> saw_stop{false}, ended{false};
  const auto start = clock_type::now();
  try {
    cohort::with_timeout(s, 50ms, [&](std::stop_token st) {
      saw_stop = poll_until([&] { return st.stop_requested(); });
      std::this_thread::sleep_for(30ms);  // slow to wind down: with_timeout must wait for it
      ended = true;
      return 1;
    });
    FAIL() << "with_timeout returned although the callable was late";
  } catch (const cohort::timeout_error&) {
    EXPECT_TRUE(ended.load()) << "the callable outlived with_timeout";
    EXPECT_GE(clock_type::now() - start, 50ms);
  }
  EXPECT_TRUE(saw_stop.load());
}

TEST(with_timeout, callable_ignoring_its_token_is_waited_for_and_its_result_discarded) {
  cohort::scheduler s({.workers = 2, .name = "wt"});
  std::atomic<bool> ended{false};
  try {
    cohort::with_timeout(s, 20ms, [&] {
      std::this_thread::sleep_for(150ms);
      ended = true;
      return std::string("too late");
    });
    FAIL() << "with_timeout returned a late result";
  } catch (const cohort::timeout_error&) {
    EXPECT_TRUE(ended.load()) << "the callable outlived with_timeout";
  }
}

TEST(with_timeout, callable_observing_the_cancel_by_throwing_task_cancelled_gives_timeout_error) {
  cohort::scheduler s({.workers = 2, .name = "wt"});
  EXPECT_THROW(cohort::with_timeout(s, 20ms,
                                    [](std::stop_token st) -> int {
                                      poll_until([&] { return st.stop_requested(); });
                                      throw cohort::task_cancelled();
                                    }),
               cohort::timeout_error);
}

TEST(with_timeout, own_exception_is_rethrown_as_itself) {
  // The worker that ran f may drop the child's reference to f's exception after
  // with_timeout has returned; if that is the last reference, the exception object is freed
  // on the worker while this thread has read it. That is ordered by libstdc++'s atomic
  // refcount, which ThreadSanitizer cannot see (libstdc++ is not instrumented): a false
  // report. Holding a reference here until the scheduler has joined its workers (declared
  // before it, so destroyed after) makes this thread the last owner.
  std::exception_ptr keep[2];
  cohort::scheduler s({.workers = 2, .name = "wt"});
  try {
    cohort::with_timeout(s, 10s, []() -> int { throw boom("mine"); });
    FAIL();
  } catch (const boom& e) {
    keep[0] = std::current_exception();
    EXPECT_STREQ(e.what(), "mine");
  } catch (const cohort::task_group_error& e) {
    keep[0] = std::current_exception();
    FAIL() << "f's exception came back wrapped: " << e.what();
  }
  try {
    cohort::with_timeout(s, 10s, [] { throw 17; });
    FAIL();
  } catch (int v) {
    keep[1] = std::current_exception();
    EXPECT_EQ(v, 17);
  }
}

TEST(with_timeout, explicit_and_ambient_scheduler) {
  cohort::scheduler s({.workers = 3, .name = "cmbt"});
  auto on_s = [&s] { return cohort_test::runs_on(s); };
  EXPECT_TRUE(cohort::with_timeout(s, 10s, on_s));
  cohort::task_group g(s);
  auto t = g.spawn([&] { return cohort::with_timeout(10s, on_s); });  // ambient: s
  g.join();
  EXPECT_TRUE(t.get());
  EXPECT_TRUE(  // outside every pool: the default scheduler
      cohort::with_timeout(10s, [] { return cohort_test::runs_on(cohort::default_scheduler()); }));
}

TEST(with_timeout, fires_inside_a_task_on_one_worker) {
  // The waiting worker runs the callable itself (help-while-wait); the deadline still
  // reaches it through its stop token.
  cohort::scheduler s({.workers = 1, .name = "wt1"});
  std::atomic<bool> ended{false};
  cohort::task_group g(s);
  auto t = g.spawn([&] {
    try {
      cohort::with_timeout(30ms, [&](std::stop_token st) {
        poll_until([&] { return st.stop_requested(); });
        ended = true;
      });
      return std::string("returned");
    } catch (const cohort::timeout_error&) {
      return std::string(ended ? "timeout after end" : "timeout before end");
    }
  });
  g.join();
  EXPECT_EQ(t.get(), "timeout after end");
  auto u = [&] {
    cohort::task_group g2(s);
    auto x = g2.spawn([] { return cohort::with_timeout(10s, [] { return 9; }); });
    g2.join();
    return x.get();
  }();
  EXPECT_EQ(u, 9);
}

TEST(with_timeout, enclosing_cancel_gives_task_cancelled_not_timeout) {
  cohort::scheduler s({.workers = 2, .name = "wt"});
  std::atomic<bool> started{false}, saw_stop{false};
  std::atomic<int> what{0};  // 1: task_cancelled, 2: timeout_error
  cohort::task_group g(s);
  auto t = g.spawn([&] {
    try {
      cohort::with_timeout(60s, [&](std::stop_token st) {
        started = true;
        saw_stop = poll_until([&] { return st.stop_requested(); });
      });
    } catch (const cohort::task_cancelled&) {
      what = 1;
      throw;
    } catch (const cohort::timeout_error&) {
      what = 2;
      throw;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load(); }));
  g.cancel();
  EXPECT_NO_THROW(g.join());
  EXPECT_TRUE(saw_stop.load());
  EXPECT_EQ(what.load(), 1);
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

TEST(with_timeout, nested_inside_gather) {
  cohort::scheduler s({.workers = 2, .name = "wt"});
  auto [a, b] = cohort::gather(
      s, [] { return cohort::with_timeout(10s, [] { return 1; }); },
      [] {
        try {
          return cohort::with_timeout(20ms, [](std::stop_token st) {
            poll_until([&] { return st.stop_requested(); });
            return 2;
          });
        } catch (const cohort::timeout_error&) {
          return -2;
        }
      });
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, -2);
}

TEST(with_timeout, deadline_reaches_a_gather_inside_the_callable) {
  cohort::scheduler s({.workers = 3, .name = "wt"});
  std::atomic<int> started{0}, ended{0};
  auto spinner = [&](std::stop_token st) {
    ++started;
    poll_until([&] { return st.stop_requested(); });
    std::this_thread::sleep_for(5ms);
    ++ended;
    return 1;
  };
  EXPECT_THROW(cohort::with_timeout(s, 30ms,
                                    [&] {
                                      auto [a, b] = cohort::gather(spinner, spinner);
                                      return a + b;
                                    }),
               cohort::timeout_error);
  EXPECT_EQ(ended.load(), started.load()) << "a gather callable outlived with_timeout";
  EXPECT_GE(started.load(), 1);
}

}  // namespace
