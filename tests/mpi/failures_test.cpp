// SPDX-License-Identifier: Apache-2.0
// cohort::mpi failures, deadlines and cancels: a failure on one rank stops every rank
// within 50 ms; every rank reports the same failures in index order; one deadline ends
// every rank; a cancel on one rank stops all of them.
#include <cohort/cohort.hpp>
#include <cohort/mpi.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mpi_test_support.hpp"

namespace mpi = cohort::mpi;
using namespace cohort_mpi_test;
using namespace std::chrono_literals;

// Timing bounds on a shared 2-core machine: a measurement may be disturbed by other
// processes, so a case takes up to three attempts and every rank agrees on the verdict;
// a protocol that is slow every time still fails.
template <class Attempt>
void within_three_attempts(Attempt attempt) {
  for (int k = 0; k < 3; ++k) {
    const bool ok = attempt(k == 2);  // the last attempt reports its failures
    if (all_min(ok ? 1 : 0) == 1) return;
  }
}

TEST(MpiFailFast, OneItemThrowsAndEveryRankStopsWithin50msAndReportsIt) {
  within_three_attempts([](bool last) {
    MPI_Barrier(MPI_COMM_WORLD);
    std::atomic<std::int64_t> failed_at{INT64_MAX}, items_stopped_at{0};
    std::atomic<int> owner{-1};
    bool caught = false;
    cohort::task_group_error error({}, {}, 0);
    try {
      // chunk 1: every rank gets its own long items at once, and item 0 starts right away.
      mpi::for_each(256,
                    [&](std::size_t i, std::stop_token stop) {
                      if (i == 0) {
                        std::this_thread::sleep_for(30ms);  // the other ranks are busy by now
                        owner = mpi::rank();
                        failed_at = now_us();
                        throw std::runtime_error("item 0 failed on purpose");
                      }
                      run_until_stopped(stop, 10s);
                      const std::int64_t t = now_us();  // this running item has seen the stop
                      std::int64_t seen = items_stopped_at.load();
                      while (seen < t && !items_stopped_at.compare_exchange_weak(seen, t)) {
                      }
                    },
                    {.chunk = 1, .name = "fail-fast"});
    } catch (const cohort::task_group_error& e) {
      caught = true;
      error = e;
    }
    const std::int64_t returned_at = now_us();
    const std::int64_t failure = all_min(failed_at.load());
    const std::int64_t last_item_stop = all_max(items_stopped_at.load());
    const std::int64_t last_return = all_max(returned_at);
    const int owner_rank = static_cast<int>(all_max(owner.load()));
    const bool fast = last_item_stop - failure <= 50'000;
    if (mpi::rank() == 0)
      std::printf(
          "[ figures  ] np %d: failure to the last running item stopped %.1f ms, to every rank "
          "returned %.1f ms\n",
          mpi::size(), (last_item_stop - failure) / 1e3, (last_return - failure) / 1e3);
    if (!fast && !last) return false;
    EXPECT_TRUE(fast) << "the last running item saw its stop " << (last_item_stop - failure)
                      << " us after the failure";
    EXPECT_LE(last_return - failure, 1'000'000) << "a rank returned long after the failure";
    EXPECT_TRUE(caught);
    if (!caught) return true;
    EXPECT_EQ(error.exceptions().size(), 1u) << error.what();
    EXPECT_NE(std::string(error.what()).find("fail-fast[0]: "), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("item 0 failed on purpose"), std::string::npos)
        << error.what();
    try {
      std::rethrow_exception(error.exceptions()[0]);
    } catch (const mpi::remote_error& r) {
      EXPECT_NE(mpi::rank(), owner_rank) << "the rank that threw got a remote_error";
      EXPECT_EQ(r.rank(), owner_rank);
      EXPECT_EQ(r.index(), 0u);
      EXPECT_NE(std::string(r.what()).find("item 0 failed on purpose"), std::string::npos);
    } catch (const std::runtime_error& x) {
      EXPECT_EQ(mpi::rank(), owner_rank) << "another rank's failure arrived as its own type";
      EXPECT_STREQ(x.what(), "item 0 failed on purpose");
    }
    return true;
  });
}

TEST(MpiFailFast, ThreeFailuresOnTwoRanksAreAllReportedInIndexOrderOnEveryRank) {
  if (mpi::size() == 1) GTEST_SKIP() << "needs two ranks";
  // keep_going: every item runs. Rank 0 fails its first two items, rank 1 its first one.
  std::atomic<int> ran_here{0};
  std::vector<std::int64_t> failed_on(2048, 0);  // item -> 1 + rank that failed it
  const int me = mpi::rank();
  bool caught = false;
  try {
    mpi::for_each(failed_on.size(),
                  [&](std::size_t i) {
                    std::this_thread::sleep_for(100us);
                    const int k = ran_here.fetch_add(1);
                    if ((me == 0 && k < 2) || (me == 1 && k < 1)) {
                      failed_on[i] = 1 + me;
                      throw std::runtime_error("item " + std::to_string(i) + " on rank " +
                                               std::to_string(me));
                    }
                  },
                  {.on_failure = cohort::failure_policy::keep_going});
  } catch (const cohort::task_group_error& e) {
    caught = true;
    const auto all = all_sum(failed_on);
    std::vector<std::pair<std::size_t, int>> expected;  // (index, rank) in index order
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i] != 0) expected.emplace_back(i, static_cast<int>(all[i] - 1));
    ASSERT_EQ(expected.size(), 3u);
    ASSERT_EQ(e.exceptions().size(), 3u) << e.what();
    for (std::size_t k = 0; k < 3; ++k) {
      const auto [index, rank] = expected[k];
      const std::string message =
          "item " + std::to_string(index) + " on rank " + std::to_string(rank);
      try {
        std::rethrow_exception(e.exceptions()[k]);
      } catch (const mpi::remote_error& r) {
        EXPECT_NE(rank, me) << "own failure came back as remote_error: " << r.what();
        EXPECT_EQ(r.rank(), rank);
        EXPECT_EQ(r.index(), index);
        EXPECT_NE(std::string(r.what()).find(message), std::string::npos) << r.what();
      } catch (const std::runtime_error& x) {
        EXPECT_EQ(rank, me) << "remote failure came back as its own type: " << x.what();
        EXPECT_EQ(std::string(x.what()), message);
      }
    }
  }
  if (!caught) all_sum(failed_on);  // keep the ranks' collectives matched
  EXPECT_TRUE(caught);
}

TEST(MpiDeadline, A500msDeadlineEndsEveryRankByDeadlinePlus100ms) {
  within_three_attempts([](bool last) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = std::chrono::steady_clock::now();
    bool timed_out = false;
    try {
      mpi::for_each(64, [](std::size_t, std::stop_token stop) { run_until_stopped(stop, 10s); },
                    {.timeout = 500ms});
    } catch (const cohort::timeout_error&) {
      timed_out = true;
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    EXPECT_TRUE(timed_out);
    EXPECT_GE(took, 490ms);
    const std::int64_t slowest = all_max(took.count());
    if (mpi::rank() == 0)
      std::printf("[ figures  ] 500 ms deadline: last rank ended at %lld ms\n", (long long)slowest);
    // The bound is deadline + 100 ms. Ranks oversubscribed on fewer cores (np 4 on
    // CI's 2) are descheduled for whole ticks, so they get +300 ms; the figure above is
    // what to read.
    const auto bound = oversubscribed() ? 800ms : 600ms;
    if (took > bound && !last) return false;
    EXPECT_LE(took, bound) << "rank " << mpi::rank() << " ended " << took.count()
                           << " ms after its entry";
    return true;
  });
}

TEST(MpiDeadline, ADeadlineThatDoesNotPassChangesNothing) {
  const auto got = mpi::gather(500, [](std::size_t i) { return i; }, {.timeout = 10s});
  EXPECT_EQ(got[499], 499u);
}

TEST(MpiCancel, CancellingTheCallingTaskOnRank0StopsEveryRankWithTaskCancelled) {
  // The collective runs inside a task, so the calling thread is a worker (the path that
  // helps run items while it waits).
  std::atomic<bool> cancelled_seen{false};
  cohort::task_group outer;
  outer.spawn([&] {
    try {
      mpi::for_each(64, [](std::size_t, std::stop_token stop) { run_until_stopped(stop, 10s); });
    } catch (const cohort::task_cancelled&) {
      cancelled_seen = true;
      throw;
    }
  });
  const auto start = std::chrono::steady_clock::now();
  if (mpi::rank() == 0) {
    std::this_thread::sleep_for(100ms);
    outer.cancel();
  }
  try {
    outer.join();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "join threw " << e.what();
  }
  EXPECT_TRUE(cancelled_seen.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(MpiCancel, AnItemThrowingTaskCancelledStopsEveryRankWithTaskCancelled) {
  EXPECT_THROW(mpi::for_each(300,
                             [](std::size_t i, std::stop_token stop) {
                               if (i == 150) throw cohort::task_cancelled();
                               if (!stop.stop_requested()) std::this_thread::sleep_for(200us);
                             }),
               cohort::task_cancelled);
}

TEST(MpiFailFast, AFailureOutranksADeadlineAndNonStdExceptionsAreDescribed) {
  try {
    mpi::for_each(64,
                  [](std::size_t i, std::stop_token stop) {
                    run_until_stopped(stop, 10s);
                    if (i == 0)
                      throw 42;  // after the deadline stopped it: still a failure, reported
                  },
                  {.chunk = 1, .timeout = 300ms});
    ADD_FAILURE() << "no exception";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    try {
      std::rethrow_exception(e.exceptions()[0]);
    } catch (const mpi::remote_error& r) {
      EXPECT_NE(std::string(r.what()).find("int thrown: 42"), std::string::npos) << r.what();
    } catch (int v) {
      EXPECT_EQ(v, 42);
    }
  }
}
