// SPDX-License-Identifier: Apache-2.0
// Regression test for issue 9, item 8: gather(range, fn) with a bool result.
//
// Results used to go into a std::vector<bool>, whose elements share words: two workers
// writing neighbouring results raced, and results were lost (32 of 2000 runs, silently
// wrong output). No result container may pack its elements. Every element returns true
// here; one false in the output is a lost write.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;

TEST(gather_results, a_bool_result_over_a_range_loses_no_element_written_concurrently) {
  cohort::scheduler s({.workers = 2, .name = "gbool"});
  // 48 results, all in one machine word if they are packed: the adaptive splitter cuts
  // them into a few pieces (4 of 12 at 2 workers, more where a thief steals), so the
  // workers write neighbouring results all the time. Each element takes a moment, so
  // both workers are at it together.
  std::vector<int> items(48);
  std::iota(items.begin(), items.end(), 0);
  // Runs until the first lost result, or for 4 s.
  const std::size_t runs = cohort_test::scaled(1'000'000, 20'000);
  std::size_t bad_runs = 0, lost = 0, done_runs = 0;
  const auto until = std::chrono::steady_clock::now() + 4s;
  cohort_test::with_watchdog(
      "gather(range, fn -> bool)",
      [&] {
        for (std::size_t r = 0; r < runs && std::chrono::steady_clock::now() < until; ++r) {
          const auto out = cohort::gather(s, items, [](int) {
            const auto until = std::chrono::steady_clock::now() + 1us;
            while (std::chrono::steady_clock::now() < until) {
            }
            return true;
          });
          ++done_runs;
          ASSERT_EQ(out.size(), items.size());
          const auto falses = static_cast<std::size_t>(std::count(out.begin(), out.end(), false));
          if (falses != 0) {
            ++bad_runs;
            lost += falses;
            break;
          }
        }
      },
      cohort_test::hang_limit() * 2);
  std::printf("gather_results: %zu runs\n", done_runs);
  EXPECT_EQ(bad_runs, 0u) << lost << " results lost in " << bad_runs << " of " << done_runs
                          << " runs";
}

}  // namespace
