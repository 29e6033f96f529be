// SPDX-License-Identifier: Apache-2.0
// gather_settled(f...) and gather_settled(range, fn): every outcome (value, error,
// cancellation) in its place, and a failure cancels nothing.
//
// Determinism: nothing here asserts how fast anything runs. Where a test needs several
// callables running at once it uses a scheduler with enough workers and a bounded
// rendezvous (poll_until), so a broken scheduler fails the test instead of hanging it.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <list>
#include <memory>
#include <numeric>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "gather_support.hpp"
#include "test_support.hpp"

namespace {

using cohort_test::boom;
using cohort_test::counting_input;
using cohort_test::describe;
using cohort_test::is_worker_of;
using cohort_test::label;
using cohort_test::no_default;
using cohort_test::poll_until;
using cohort_test::thread_name;
using cohort_test::tracker;

using namespace std::chrono_literals;

// ===== gather_settled(f...) =============================================================

TEST(gather_settled, values_errors_and_cancellations_in_place) {
  cohort::scheduler s({.workers = 1, .name = "gs1"});
  std::atomic<int> calls{0};
  auto r = cohort::gather_settled(
      s,
      [&] {
        ++calls;
        return 1;
      },
      [&]() -> int {
        ++calls;
        throw boom("two");
      },
      [&]() -> int {
        ++calls;
        throw cohort::task_cancelled();
      },
      [&] { ++calls; },
      [&]() -> std::string {
        ++calls;
        throw 5;
      },
      [&] {
        ++calls;
        return std::string("six");
      });
  static_assert(
      std::is_same_v<decltype(r),
                     std::tuple<cohort::outcome<int>, cohort::outcome<int>, cohort::outcome<int>,
                                cohort::outcome<void>, cohort::outcome<std::string>,
                                cohort::outcome<std::string>>>);
  EXPECT_EQ(calls.load(), 6) << "a failure must not cancel the other callables";

  auto& [o1, o2, o3, o4, o5, o6] = r;
  ASSERT_TRUE(o1.has_value());
  EXPECT_EQ(o1.value(), 1);
  EXPECT_FALSE(o1.failed());
  EXPECT_EQ(o1.error(), nullptr);

  EXPECT_TRUE(o2.failed());
  EXPECT_FALSE(o2.has_value());
  EXPECT_EQ(describe(o2.error()), "two");
  EXPECT_THROW(o2.value(), boom);

  EXPECT_TRUE(o3.cancelled());
  EXPECT_FALSE(o3.failed());
  EXPECT_EQ(o3.error(), nullptr);
  EXPECT_THROW(o3.value(), cohort::task_cancelled);

  EXPECT_TRUE(o4.has_value());
  EXPECT_NO_THROW(o4.value());

  EXPECT_TRUE(o5.failed());
  EXPECT_EQ(describe(o5.error()), "int:5");

  ASSERT_TRUE(o6.has_value());
  EXPECT_EQ(std::move(o6).value(), "six");
}

TEST(gather_settled, failure_never_requests_the_siblings_stop_tokens) {
  cohort::scheduler s({.workers = 2, .name = "gs2"});
  std::atomic<bool> failed{false};
  auto [a, b] = cohort::gather_settled(
      s,
      [&](std::stop_token st) {
        poll_until([&] { return failed.load(); });
        std::this_thread::sleep_for(5ms);  // give a (wrong) cancel time to arrive
        return st.stop_requested();
      },
      [&]() -> int {
        failed = true;
        throw boom("x");
      });
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a.value()) << "gather_settled cancelled a sibling after a failure";
  EXPECT_TRUE(b.failed());
}

TEST(gather_settled, ambient_inside_a_task) {
  cohort::scheduler s({.workers = 2, .name = "gs"});
  cohort::task_group g(s);
  auto t = g.spawn([] {
    auto [a, b] = cohort::gather_settled([] { return 3; }, []() -> int { throw boom("b"); });
    return a.value() * 10 + (b.failed() ? 1 : 0);
  });
  g.join();  // a failure inside gather_settled is not a failure of the child
  EXPECT_EQ(t.get(), 31);
}

// ===== gather_settled(range, fn) ========================================================

TEST(gather_settled_range, outcomes_in_input_order_and_every_element_runs) {
  cohort::scheduler s({.workers = 1, .name = "gs1"});
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  std::atomic<int> calls{0};
  auto out = cohort::gather_settled(s, v, [&](int x) {
    ++calls;
    if (x == 5) throw cohort::task_cancelled();
    if (x % 3 == 1) throw boom(label("bad", x));
    return x * 10;
  });
  static_assert(std::is_same_v<decltype(out), std::vector<cohort::outcome<int>>>);
  EXPECT_EQ(calls.load(), 10);
  ASSERT_EQ(out.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    if (i == 5) {
      EXPECT_TRUE(out[i].cancelled()) << i;
    } else if (i % 3 == 1) {
      ASSERT_TRUE(out[i].failed()) << i;
      EXPECT_EQ(describe(out[i].error()), label("bad", i));
    } else {
      ASSERT_TRUE(out[i].has_value()) << i;
      EXPECT_EQ(out[i].value(), i * 10);
    }
  }
}

TEST(gather_settled_range, void_fn_list_and_non_default_constructible) {
  cohort::scheduler s({.workers = 2, .name = "gs"});
  std::list<int> l{1, 2, 3, 4};
  auto v = cohort::gather_settled(s, l, [](int x) {
    if (x == 3) throw boom("three");
  });
  static_assert(std::is_same_v<decltype(v), std::vector<cohort::outcome<void>>>);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_TRUE(v[0].has_value());
  EXPECT_TRUE(v[1].has_value());
  EXPECT_TRUE(v[2].failed());
  EXPECT_TRUE(v[3].has_value());

#ifndef COHORT_TEST_NO_STD_VIEWS  // clang 14 + libstdc++ 12: no std::ranges::subrange
  std::istringstream in("4 5 6");
  auto nd = cohort::gather_settled(
      s, std::ranges::subrange(std::istream_iterator<int>(in), std::istream_iterator<int>()),
      [](int x) { return no_default(x); });
  ASSERT_EQ(nd.size(), 3u);
  EXPECT_EQ(nd[0].value().v, 4);
  EXPECT_EQ(nd[1].value().v, 5);
  EXPECT_EQ(nd[2].value().v, 6);
#endif
}

TEST(gather_settled_range, throws_task_cancelled_when_the_enclosing_group_is_cancelled) {
  cohort::scheduler s({.workers = 1, .name = "gsc"});
  std::atomic<bool> started{false}, threw_cancelled{false};
  std::vector<int> v(100);
  cohort::task_group g(s);
  auto stop = g.stop_token();
  auto t = g.spawn([&] {
    try {
      cohort::gather_settled(v, [&](int) {
        started = true;
        poll_until([&] { return stop.stop_requested(); });
        return 0;
      });
    } catch (const cohort::task_cancelled&) {
      threw_cancelled = true;
      throw;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load(); }));
  g.cancel();
  g.join();
  EXPECT_TRUE(threw_cancelled.load());
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

}  // namespace
