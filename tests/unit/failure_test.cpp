// SPDX-License-Identifier: Apache-2.0
// The one failure capture (include/cohort/detail/failure.hpp, run_capturing): a body that
// returns leaves the error slot alone; one that throws has its exception kept, classified
// as a failure, or as a cancellation when it is a task_cancelled (a cancel it observed).
#include <cohort/detail/failure.hpp>
#include <cohort/errors.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <string>

#include "test_support.hpp"

namespace {

using cohort::detail::run_capturing;
using cohort::detail::run_outcome;

TEST(failure, a_body_that_returns_is_returned_and_leaves_the_error_empty) {
  std::exception_ptr error;
  int ran = 0;
  EXPECT_EQ(run_capturing([&] { ++ran; }, error), run_outcome::returned);
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(error);
}

TEST(failure, a_body_that_throws_is_a_failure_and_its_exception_is_kept) {
  std::exception_ptr error;
  EXPECT_EQ(run_capturing([] { throw cohort_test::boom("lost?"); }, error), run_outcome::failed);
  ASSERT_TRUE(error);
  EXPECT_EQ(cohort_test::what_of(error), "lost?");
}

TEST(failure, anything_thrown_counts_not_only_std_exceptions) {
  std::exception_ptr error;
  EXPECT_EQ(run_capturing([] { throw 42; }, error), run_outcome::failed);
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (int v) {
    EXPECT_EQ(v, 42);
  }
}

TEST(failure, a_task_cancelled_is_a_cancellation_not_a_failure) {
  std::exception_ptr error;
  EXPECT_EQ(run_capturing([] { throw cohort::task_cancelled(); }, error), run_outcome::cancelled);
  ASSERT_TRUE(error) << "the cancellation is kept too: some callers rethrow it";
  EXPECT_TRUE(cohort::detail::is_cancellation(error));
}

}  // namespace
