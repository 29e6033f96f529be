// SPDX-License-Identifier: Apache-2.0
// gather(range, fn): results in input order over every kind of range (random-access,
// forward, input-only, views), failure and cancellation. The tuple form is in
// gather_test.cpp, gather_settled in gather_settled_test.cpp.
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
#include <functional>
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

// ===== gather(range, fn): results =======================================================

TEST(gather_range, vector_results_in_input_order) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  auto out = cohort::gather(s, v, [](int x) { return x * x; });
  static_assert(std::is_same_v<decltype(out), std::vector<int>>);
  ASSERT_EQ(out.size(), v.size());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(out[i], i * i) << i;
}

TEST(gather_range, empty_range_gives_empty_vector) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v;
  int calls = 0;
  auto out = cohort::gather(s, v, [&](int x) {
    ++calls;
    return x;
  });
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(calls, 0);
}

TEST(gather_range, list_is_a_forward_range_and_elements_are_passed_by_reference) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::list<std::string> words{"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"};
  static_assert(!std::ranges::random_access_range<decltype(words)>);
  auto lens = cohort::gather(s, words, [](std::string& w) {
    w += "!";
    return w.size();
  });
  EXPECT_EQ(lens, (std::vector<std::size_t>{2, 3, 4, 5, 6, 7, 2}));
  EXPECT_EQ(words.front(), "a!");
  EXPECT_EQ(words.back(), "g!");
}

TEST(gather_range, input_only_common_range) {
  // istream_iterator: single pass, begin and end of the same type.
#ifdef COHORT_TEST_NO_STD_VIEWS
  GTEST_SKIP() << "std::ranges::subrange does not compile with clang 14 and libstdc++ 12";
#else
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::istringstream in("5 1 4 2 3 9 8 7 6 0");
  auto view = std::ranges::subrange(std::istream_iterator<int>(in), std::istream_iterator<int>());
  static_assert(!std::ranges::forward_range<decltype(view)>);
  auto out = cohort::gather(s, view, [](int x) { return x * 10; });
  EXPECT_EQ(out, (std::vector<int>{50, 10, 40, 20, 30, 90, 80, 70, 60, 0}));
#endif
}

// An input-only range whose end is a sentinel of another type (std::views::istream, a
// generator-like view): gather takes its elements out once (gather.hpp). These two
// once did not compile (issue 14: they were fenced off behind a macro).
TEST(gather_range, input_only_istream_view) {
#ifdef COHORT_TEST_NO_STD_VIEWS
  GTEST_SKIP() << "std::views::istream does not compile with clang 14 and libstdc++ 12";
#else
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::istringstream in("5 1 4 2 3 9 8 7 6 0");
  auto view = std::views::istream<int>(in);
  static_assert(!std::ranges::forward_range<decltype(view)>);
  auto out = cohort::gather(s, view, [](int x) { return x * 10; });
  EXPECT_EQ(out, (std::vector<int>{50, 10, 40, 20, 30, 90, 80, 70, 60, 0}));
  std::istringstream in2("4 5 6");
  auto settled = cohort::gather_settled(s, std::views::istream<int>(in2), [](int x) { return x; });
  ASSERT_EQ(settled.size(), 3u);
  EXPECT_EQ(settled[2].value(), 6);
#endif
}

TEST(gather_range, input_only_generator_like_range) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  counting_input gen(500);
  auto out = cohort::gather(s, gen, [](int x) { return x + 1; });
  ASSERT_EQ(out.size(), 500u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(out[i], i + 1);
}

TEST(gather_range, rvalue_view_and_const_vector) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
#ifdef COHORT_TEST_NO_STD_VIEWS
  std::vector<int> hundred(100);  // clang 14 + libstdc++ 12: no std::views (test_support.hpp)
  for (int i = 0; i < 100; ++i) hundred[i] = i;
  auto out = cohort::gather(s, std::move(hundred), [](int x) { return -x; });
#else
  auto out = cohort::gather(s, std::views::iota(0, 100), [](int x) { return -x; });
#endif
  ASSERT_EQ(out.size(), 100u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(out[i], -i);
  const std::vector<std::string> cv{"x", "yy"};
  EXPECT_EQ(cohort::gather(s, cv, [](const std::string& w) { return w.size(); }),
            (std::vector<std::size_t>{1, 2}));
}

TEST(gather_range, result_type_that_is_not_default_constructible) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v(300);
  std::iota(v.begin(), v.end(), 0);
  auto out = cohort::gather(s, v, [](int x) { return no_default(x * 3); });
  static_assert(std::is_same_v<decltype(out), std::vector<no_default>>);
  ASSERT_EQ(out.size(), 300u);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(out[i].v, i * 3);
}

TEST(gather_range, million_elements_in_order) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v(1'000'000);
  std::iota(v.begin(), v.end(), 0);
  auto out = cohort::gather(s, v, [](int x) { return static_cast<long long>(x) * 2 + 1; });
  ASSERT_EQ(out.size(), v.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i] != static_cast<long long>(i) * 2 + 1) FAIL() << "wrong result at " << i;
}

TEST(gather_range, void_fn_visits_every_element_once) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  constexpr int n = 10'000;
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  std::vector<std::atomic<int>> hits(n);
  using R = decltype(cohort::gather(s, v, [&](int x) { hits[x].fetch_add(1); }));
  static_assert(std::is_void_v<R>);
  cohort::gather(s, v, [&](int x) { hits[x].fetch_add(1); });
  for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << i;
}

// gather(range) splits on demand (the loops' adaptive splitter): a short recursive range
// (skynet, UTS) is cut only about log2(workers) times unless a thief takes a piece. The
// first leaf of a tree of nested gathers waits (bounded) until some element ran on another
// thread: only pieces of the tree handed to the second worker let it go on in time. A
// gather whose short ranges ran whole on the calling worker fails here.
TEST(gather_range, a_tree_of_short_nested_ranges_is_shared_between_workers) {
  cohort::scheduler s({.workers = 2, .name = "tree"});
  std::atomic<std::thread::id> root{};
  std::atomic<bool> shared{false}, waited_in_vain{false};
  std::atomic<int> leaves{0};
  std::function<int(int, bool)> tree = [&](int depth, bool leftmost) -> int {
    if (depth == 0) {
      leaves.fetch_add(1, std::memory_order_relaxed);
      if (std::this_thread::get_id() != root.load()) shared = true;
      // The leftmost leaf runs on the root's thread: only right halves are ever queued.
      if (leftmost && !poll_until([&] { return shared.load(); })) waited_in_vain = true;
      return 1;
    }
    auto sums = cohort::gather(std::views::iota(0, 4),
                               [&](int i) { return tree(depth - 1, leftmost && i == 0); });
    return std::accumulate(sums.begin(), sums.end(), 0);
  };
  auto [total] = cohort::gather(s, [&] {
    root = std::this_thread::get_id();
    return tree(3, true);
  });
  EXPECT_EQ(total, 64);
  EXPECT_EQ(leaves.load(), 64);
  EXPECT_FALSE(waited_in_vain.load()) << "the tree ran on one thread only";
}

TEST(gather_range, ambient_inside_a_task) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  cohort::task_group g(s);
  auto t = g.spawn([] {
    std::vector<int> v(2000);
    std::iota(v.begin(), v.end(), 0);
    return cohort::gather(v, [](int x) { return x + 7; });
  });
  g.join();
  auto out = t.get();
  ASSERT_EQ(out.size(), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(out[i], i + 7);
}

// ===== gather(range, fn): failure and cancellation ======================================

TEST(gather_range_failure, first_failure_skips_later_elements_on_one_worker) {
  cohort::scheduler s({.workers = 1, .name = "gr1"});
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  std::atomic<int> highest{-1}, calls{0};
  try {
    cohort::gather(s, v, [&](int x) {
      ++calls;
      cohort_test::atomic_max(highest, x);
      if (x == 10) throw boom("ten");
      return x;
    });
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(describe(e.exceptions()[0]), "ten");
  }
  EXPECT_EQ(highest.load(), 10) << "elements after the failing one were called";
  EXPECT_EQ(calls.load(), 11);
}

TEST(gather_range_failure, running_elements_have_ended_when_gather_throws) {
  // Its elements must run at once: they do because the adaptive splitter cuts a range
  // of at most 2^(floor(log2 workers) + 1) elements into single ones (gather.hpp).
  cohort::scheduler s({.workers = 2, .name = "gr2"});
  std::vector<int> v{0, 1};
  std::atomic<bool> started{false}, failed{false}, ended{false};
  EXPECT_THROW(cohort::gather(s, v,
                              [&](int x) {
                                if (x == 1) {
                                  poll_until([&] { return started.load(); });
                                  failed = true;
                                  throw boom("one");
                                }
                                started = true;
                                poll_until([&] { return failed.load(); });
                                std::this_thread::sleep_for(20ms);
                                ended = true;
                                return x;
                              }),
               cohort::task_group_error);
  EXPECT_TRUE(ended.load()) << "gather returned while an element still ran";
}

TEST(gather_range_failure, all_failures_in_input_order) {
  // Its elements must run at once: they do because the adaptive splitter cuts a range
  // of at most 2^(floor(log2 workers) + 1) elements into single ones (gather.hpp).
  cohort::scheduler s({.workers = 3, .name = "gr3"});
  std::vector<int> v{0, 1, 2};
  std::atomic<int> arrived{0}, turn{0};
  try {
    cohort::gather(s, v, [&](int x) -> int {
      ++arrived;
      poll_until([&] { return arrived.load() == 3; });
      poll_until([&] { return turn.load() == 2 - x; });  // element 2 fails first
      ++turn;
      throw boom(label("e", x));
    });
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 3u) << e.what();
    EXPECT_EQ(describe(e.exceptions()[0]), "e0");
    EXPECT_EQ(describe(e.exceptions()[1]), "e1");
    EXPECT_EQ(describe(e.exceptions()[2]), "e2");
    EXPECT_NE(std::string(e.what()).find("e0"), std::string::npos) << e.what();
  }
}

TEST(gather_range_failure, non_std_exception_is_carried) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v{1, 2, 3};
  try {
    cohort::gather(s, v, [](int x) {
      if (x == 2) throw x;
    });
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(describe(e.exceptions()[0]), "int:2");
  }
}

TEST(gather_range_failure, non_default_constructible_result_with_a_failure) {
  cohort::scheduler s({.workers = 1, .name = "gr1"});
  std::vector<int> v{0, 1, 2, 3};
  EXPECT_THROW(cohort::gather(s, v,
                              [](int x) {
                                if (x == 1) throw boom("one");
                                return no_default(x);
                              }),
               cohort::task_group_error);
}

// As for the tuple form: an element whose fn throws task_cancelled by itself must not leave
// a hole in the result (it once came back default-constructed, or as a read of an empty
// optional for a type that is not default-constructible): gather throws task_cancelled.
TEST(gather_range_failure, element_throwing_task_cancelled_without_cancel_throws_task_cancelled) {
  cohort::scheduler s({.workers = 1, .name = "gr1"});
  std::vector<int> v{0, 1, 2};
  EXPECT_THROW(cohort::gather(s, v,
                              [](int x) {
                                if (x == 1) throw cohort::task_cancelled();
                                return x + 100;
                              }),
               cohort::task_cancelled);
  EXPECT_THROW(cohort::gather(s, v,
                              [](int x) {
                                if (x == 1) throw cohort::task_cancelled();
                                return no_default(x);
                              }),
               cohort::task_cancelled);
}

TEST(gather_range_cancel, group_cancel_skips_remaining_elements_and_throws_task_cancelled) {
  cohort::scheduler s({.workers = 1, .name = "grc"});
  std::atomic<int> calls{0};
  std::atomic<bool> started{false}, threw_cancelled{false};
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  cohort::task_group g(s);
  auto stop = g.stop_token();
  auto t = g.spawn([&] {
    try {
      return cohort::gather(v, [&](int x) {
        ++calls;
        if (x == 0) {
          started = true;
          poll_until([&] { return stop.stop_requested(); });
        }
        return x;
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
  // A running piece of a range gather checks for cancellation every
  // cohort::detail::cancel_check_stride (64) elements; with one worker only one piece runs.
  EXPECT_LE(calls.load(), static_cast<int>(cohort::detail::cancel_check_stride))
      << "elements not started when the group was cancelled ran anyway";
  EXPECT_LT(calls.load(), 1000);
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

}  // namespace
