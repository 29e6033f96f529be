// SPDX-License-Identifier: Apache-2.0
// cohort::mpi results: every item runs exactly once on some rank, and every rank gets
// every result in index order (fixed-size, strings, in many pieces, reductions).
#include <cohort/cohort.hpp>
#include <cohort/mpi.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exchange.hpp"  // detail::set_piece_limit: the > 2 GiB path, exercised in small pieces
#include "mpi_test_support.hpp"

namespace mpi = cohort::mpi;
using namespace cohort_mpi_test;

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64: a result that depends on every bit of i
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// An affine map x -> a*x + b; composing them is associative and not commutative.
struct affine {
  std::uint64_t a, b;
};
affine then(affine first, affine second) {
  return {first.a * second.a, first.b * second.a + second.b};
}

}  // namespace

TEST(MpiResults, TenThousandItemsEqualTheSerialResultInOrder) {
  constexpr std::size_t n = 10'000;
  const auto got = mpi::gather(n, [](std::size_t i) { return mix(i); }, {.name = "mix"});
  ASSERT_EQ(got.size(), n);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], mix(i)) << "index " << i;
}

TEST(MpiResults, ForEachRunsEveryItemExactlyOnceAcrossTheRanks) {
  constexpr std::size_t n = 10'000;
  auto runs = std::make_unique<std::atomic<int>[]>(n);
  mpi::for_each(n, [&](std::size_t i) { runs[i].fetch_add(1, std::memory_order_relaxed); });
  std::vector<std::int64_t> counts(n);
  for (std::size_t i = 0; i < n; ++i) counts[i] = runs[i].load();
  const auto total = all_sum(counts);
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_EQ(total[i], 1) << "item " << i << " ran " << total[i] << " times";
}

TEST(MpiResults, ItemsTakingAStopTokenRunAndReturnInOrder) {
  const auto got = mpi::gather(1000, [](std::size_t i, std::stop_token stop) {
    return stop.stop_requested() ? -1 : static_cast<int>(i) * 3;
  });
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<int>(i) * 3);
}

TEST(MpiResults, StringResultsArriveWholeAlsoInManySmallPieces) {
  auto text = [](std::size_t i) {
    return std::string(i % 53, static_cast<char>('a' + i % 26)) + std::to_string(i);
  };
  for (std::size_t limit : {std::size_t(1) << 30, std::size_t(4096), std::size_t(5)}) {
    mpi::detail::set_piece_limit(limit);
    const std::size_t n = limit < 100 ? 40 : 3000;  // 5 bytes a round: keep the rounds few
    const auto got = mpi::gather(n, text, {.chunk = 17});
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], text(i)) << "index " << i << ", limit " << limit;
  }
  mpi::detail::set_piece_limit(std::size_t(1) << 30);
}

TEST(MpiResults, ReduceCombinesPartialsInIndexOrderAndUsesInitOnce) {
  constexpr std::size_t n = 5000;
  auto map = [](std::size_t i) { return affine{mix(i) | 1, mix(i + n)}; };
  affine expected{3, 5};
  for (std::size_t i = 0; i < n; ++i) expected = then(expected, map(i));
  const affine got = mpi::reduce(n, affine{3, 5}, map, then);
  EXPECT_EQ(got.a, expected.a);
  EXPECT_EQ(got.b, expected.b);
  const affine none = mpi::reduce(0, affine{3, 5}, map, then);
  EXPECT_EQ(none.a, 3u);
  EXPECT_EQ(none.b, 5u);
}

TEST(MpiResults, FixedChunksAndZeroItemsWork) {
  const auto got = mpi::gather(101, [](std::size_t i) { return double(i) / 2; }, {.chunk = 10});
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], double(i) / 2);
  EXPECT_TRUE(mpi::gather(0, [](std::size_t) { return 1; }).empty());
}

TEST(MpiResults, RankAndSizeMatchMpiCommWorld) {
  int r = -1, s = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  EXPECT_EQ(mpi::rank(), r);
  EXPECT_EQ(mpi::size(), s);
}

TEST(MpiMisuse, ACollectiveFromInsideAnItemIsALogicError) {
  try {
    mpi::for_each(8, [](std::size_t) { mpi::for_each(1, [](std::size_t) {}); });
    ADD_FAILURE() << "a nested collective did not throw";
  } catch (const cohort::task_group_error& e) {
    ASSERT_FALSE(e.exceptions().empty());
    for (const auto& x : e.exceptions()) {
      try {
        std::rethrow_exception(x);
      } catch (const mpi::remote_error& r) {
        EXPECT_NE(std::string(r.what()).find("another cohort::mpi collective"), std::string::npos)
            << r.what();
      } catch (const std::logic_error& l) {
        EXPECT_NE(std::string(l.what()).find("another cohort::mpi collective"), std::string::npos)
            << l.what();
      }
    }
  }
  // The call after it works: nothing of the failed one is left on the communicator.
  const auto got = mpi::gather(100, [](std::size_t i) { return i; });
  EXPECT_EQ(got[99], 99u);
}

TEST(MpiMisuse, RanksPassingDifferentArgumentsAllGetALogicError) {
  if (mpi::size() == 1) GTEST_SKIP() << "needs two ranks";
  const std::size_t n = mpi::rank() == 0 ? 10 : 11;
  EXPECT_THROW(mpi::for_each(n, [](std::size_t) {}), std::logic_error);
  const auto got = mpi::gather(50, [](std::size_t i) { return i * 2; });
  EXPECT_EQ(got[49], 98u);
}

TEST(MpiResults, ACollectiveInsideATaskOfAOneWorkerPoolRunsItsItemsOnThatPool) {
  // The caller is that pool's only worker: a progress thread of cohort's own talks to MPI
  // while the worker runs the items (its wait helps), so nothing waits on a busy worker.
  cohort::scheduler pool({.workers = 1, .name = "one"});
  std::atomic<int> on_pool{0};
  cohort::task_group g(pool);
  auto t = g.spawn([&] {
    return mpi::gather(2000, [&](std::size_t i) {
      on_pool.fetch_add(1, std::memory_order_relaxed);
      return mix(i);
    });
  });
  g.join();
  const auto got = t.get();
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], mix(i));
  EXPECT_EQ(all_sum(on_pool.load()), 2000);
}
