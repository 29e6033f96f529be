// SPDX-License-Identifier: Apache-2.0
// Every options struct of the public API takes C++20 designated initializers naming only
// some fields, without -Wmissing-field-initializers (part of -Wextra) firing: each member
// has a default member initializer. This file is compiled with that warning as an error
// (tests/CMakeLists.txt), so a member added without one fails the build; the other tests
// are compiled with the warning off.
#include <cohort/cohort.hpp>
#include <cohort/process.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace {

using namespace std::chrono_literals;

TEST(options, every_options_struct_takes_partial_designated_initializers) {
  const cohort::scheduler_options s{.workers = 2};
  const cohort::group_options g{.name = "g"};
  const cohort::task_options t{.name = "t"};
  const cohort::loop_options a{.grain = 4};
  const cohort::loop_options b{.split = cohort::partition::deterministic};
  const cohort::loop_options c{.timeout = 2s};
  const cohort::process_options p{.capture = false};
  EXPECT_EQ(s.name, "cohort");
  EXPECT_EQ(g.max_concurrency, 0u);
  EXPECT_FALSE(t.timeout.has_value());
  EXPECT_EQ(a.split, cohort::partition::adaptive);
  EXPECT_EQ(b.grain, 0u);
  EXPECT_TRUE(c.name.empty());
  EXPECT_FALSE(p.timeout.has_value());
}

}  // namespace
