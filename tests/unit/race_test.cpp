// SPDX-License-Identifier: Apache-2.0
// race: the first callable to succeed wins, the losers are cancelled and have ended
// when it returns, all failing gives every failure. with_timeout is in
// with_timeout_test.cpp.
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
#include <mutex>
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

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (int v) {
    return label("int:", v);
  } catch (...) {
    return "?";
  }
}

// ===== race =============================================================================

TEST(race, first_success_wins_and_the_losers_are_cancelled_and_have_ended) {
  cohort::scheduler s({.workers = 3, .name = "rc"});
  std::atomic<int> started{0}, saw_stop{0}, ended{0};
  auto loser = [&](std::stop_token st) {
    ++started;
    if (poll_until([&] { return st.stop_requested(); })) ++saw_stop;
    std::this_thread::sleep_for(10ms);  // slow to wind down: race must wait for it
    ++ended;
    return -1;
  };
  const int r = cohort::race(
      s, loser,
      [&] {
        poll_until([&] { return started.load() == 2; });
        return 7;
      },
      loser);
  EXPECT_EQ(r, 7);
  EXPECT_EQ(started.load(), 2);
  EXPECT_EQ(saw_stop.load(), 2) << "a loser's stop token was not requested";
  EXPECT_EQ(ended.load(), 2) << "a loser outlived race";
}

TEST(race, a_failing_contender_does_not_win) {
  cohort::scheduler s({.workers = 2, .name = "rc"});
  const int r = cohort::race(
      s, []() -> int { throw boom("fast failure"); },
      [&] {
        std::this_thread::sleep_for(20ms);
        return 11;
      });
  EXPECT_EQ(r, 11);
  // And when the failure certainly comes first.
  std::atomic<bool> failed{false};
  const int r2 = cohort::race(
      s,
      [&]() -> int {
        failed = true;
        throw boom("first");
      },
      [&] {
        poll_until([&] { return failed.load(); });
        return 12;
      });
  EXPECT_EQ(r2, 12);
}

TEST(race, all_fail_gives_task_group_error_with_every_failure_in_argument_order) {
  cohort::scheduler s({.workers = 3, .name = "rc"});
  std::atomic<int> turn{0};
  try {
    cohort::race(
        s,
        [&]() -> int {
          poll_until([&] { return turn.load() == 2; });  // fails last
          throw boom("a");
        },
        [&]() -> int {
          poll_until([&] { return turn.load() == 1; });
          ++turn;
          throw boom("b");
        },
        [&]() -> int {
          ++turn;
          throw 3;
        });
    FAIL() << "race returned although every contender failed";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 3u) << e.what();
    EXPECT_EQ(describe(e.exceptions()[0]), "a");
    EXPECT_EQ(describe(e.exceptions()[1]), "b");
    EXPECT_EQ(describe(e.exceptions()[2]), "int:3");
  }
}

TEST(race, void_callables) {
  cohort::scheduler s({.workers = 2, .name = "rc"});
  std::atomic<int> winners{0};
  std::atomic<bool> loser_started{false}, loser_ended{false};
  static_assert(std::is_void_v<decltype(cohort::race(
                    s, [] {}, [] {}))>);
  cohort::race(
      s, [&] { ++winners; },
      [&](std::stop_token st) {
        loser_started = true;
        poll_until([&] { return st.stop_requested(); });
        loser_ended = true;
      });
  EXPECT_EQ(winners.load(), 1);
  // The loser either never started (skipped) or was stopped and ended before race returned.
  EXPECT_EQ(loser_started.load(), loser_ended.load());
  EXPECT_NO_THROW(cohort::race(s, [] {}));
}

TEST(race, result_type_is_the_common_type) {
  cohort::scheduler s({.workers = 2, .name = "rc"});
  auto r = cohort::race(
      s, [] { return 1; }, [](std::stop_token) { return 2L; });
  static_assert(std::is_same_v<decltype(r), long>);
  EXPECT_TRUE(r == 1 || r == 2);
}

TEST(race, single_contender) {
  cohort::scheduler s({.workers = 1, .name = "rc1"});
  EXPECT_EQ(cohort::race(s, [] { return std::string("only"); }), "only");
  EXPECT_THROW(cohort::race(s, []() -> int { throw boom("x"); }), cohort::task_group_error);
}

TEST(race, explicit_and_ambient_scheduler) {
  cohort::scheduler s({.workers = 3, .name = "cmbr"});
  auto on_s = [&s] { return cohort_test::runs_on(s); };
  EXPECT_TRUE(cohort::race(s, on_s, on_s));
  cohort::task_group g(s);
  auto t = g.spawn([&] { return cohort::race(on_s, on_s); });  // ambient: s
  g.join();
  EXPECT_TRUE(t.get());
  EXPECT_TRUE(cohort::race([] { return cohort_test::runs_on(cohort::default_scheduler()); }));
}

// One worker: the task running race() runs the contenders itself, one after the other.
// So the first to run is the first to succeed and must win, and it cancels the other
// before that one starts: the loser is skipped, or (if race ever ran it) finds its stop
// already requested. Fails if a later contender wins, or if a loser runs uncancelled.
TEST(race, inside_a_task_on_one_worker) {
  cohort::scheduler s({.workers = 1, .name = "rc1"});
  std::mutex m;
  std::vector<int> ran;        // contender ids in the order they ran; guarded by m
  std::vector<bool> saw_stop;  // whether each saw its stop requested; guarded by m
  auto contender = [&](int id) {
    return [&, id](std::stop_token st) {
      std::lock_guard lock(m);
      ran.push_back(id);
      saw_stop.push_back(st.stop_requested());
      return id;
    };
  };
  cohort::task_group g(s);
  auto t = g.spawn([&] { return cohort::race(contender(1), contender(2)); });
  // On the worker alone: a join from here could run t on this thread (in its slot), and
  // the idle worker would then steal a contender (test_support.hpp, ended()).
  EXPECT_TRUE(cohort_test::ended(t));
  g.join();
  std::lock_guard lock(m);
  ASSERT_FALSE(ran.empty()) << "no contender ran";
  ASSERT_LE(ran.size(), 2u);
  EXPECT_EQ(t.get(), ran.front()) << "the first contender to succeed did not win";
  EXPECT_FALSE(saw_stop.front()) << "the winner ran with its stop already requested";
  if (ran.size() == 2) {
    EXPECT_TRUE(saw_stop[1]) << "the loser ran after the win, uncancelled";
  }
}

TEST(race, enclosing_cancel_gives_task_cancelled) {
  cohort::scheduler s({.workers = 3, .name = "rc"});
  std::atomic<int> started{0}, saw_stop{0};
  std::atomic<bool> threw_cancelled{false};
  auto spinner = [&](std::stop_token st) {
    ++started;
    if (poll_until([&] { return st.stop_requested(); })) ++saw_stop;
    return 0;
  };
  cohort::task_group g(s);
  auto t = g.spawn([&] {
    try {
      return cohort::race(spinner, spinner);
    } catch (const cohort::task_cancelled&) {
      threw_cancelled = true;
      throw;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load() == 2; }));
  g.cancel();
  EXPECT_NO_THROW(g.join());
  EXPECT_EQ(saw_stop.load(), 2);
  EXPECT_TRUE(threw_cancelled.load());
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

TEST(race, race_of_with_timeouts) {
  cohort::scheduler s({.workers = 3, .name = "rc"});
  const int r = cohort::race(
      s,
      [] {
        return cohort::with_timeout(10ms, [](std::stop_token st) {
          poll_until([&] { return st.stop_requested(); });
          return 1;
        });
      },
      [] {
        std::this_thread::sleep_for(40ms);
        return 2;
      });
  EXPECT_EQ(r, 2);  // the first contender timed out: a failure, so it cannot win
}

}  // namespace
