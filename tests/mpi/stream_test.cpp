// SPDX-License-Identifier: Apache-2.0
// cohort::mpi::item_stream (the job protocol of cohort-run --mpi): every pushed item runs
// exactly once on some rank and its result reaches rank 0; a stop raised on the last rank
// reaches every rank and every handed-out item still completes; close_and_drop lets
// running items finish.
#include <cohort/cohort.hpp>
#include <cohort/mpi.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "mpi_test_support.hpp"

namespace mpi = cohort::mpi;
using namespace cohort_mpi_test;
using namespace std::chrono_literals;

namespace {

// The items run as tasks of one group on the default scheduler; `stop` is what the
// stopped handler requests (items watch it instead of being cancelled unstarted, so each
// one completes).
struct item_runner {
  cohort::task_group group;
  std::stop_source stop;
  std::atomic<int> ran{0};
};

}  // namespace

TEST(MpiItemStream, EveryItemRunsOnceAndItsResultReachesRank0) {
  constexpr int n = 3000;
  item_runner runner;
  std::vector<int> seen(n, 0);
  std::vector<int> ran_on(static_cast<std::size_t>(mpi::size()), 0);
  bool results_match = true;
  mpi::item_stream* self = nullptr;
  mpi::item_stream s(2, {.run =
                             [&](std::uint64_t index, std::string item) {
                               runner.group.spawn([&, index, item = std::move(item)] {
                                 runner.ran.fetch_add(1, std::memory_order_relaxed);
                                 self->complete(index, item + "@" + std::to_string(mpi::rank()));
                               });
                             },
                         .finished =
                             [&](std::uint64_t index, int rank, std::string result) {
                               ++seen.at(index);
                               ++ran_on.at(static_cast<std::size_t>(rank));
                               if (result != std::to_string(index) + "@" + std::to_string(rank))
                                 results_match = false;
                             },
                         .stopped = [](std::uint64_t) {}});
  self = &s;
  std::thread producer;
  if (mpi::rank() == 0)
    producer = std::thread([&] {
      for (int i = 0; i < n; ++i) ASSERT_TRUE(s.push(std::to_string(i)));
      s.close();
    });
  s.run();
  if (producer.joinable()) producer.join();
  runner.group.join();
  EXPECT_EQ(all_sum(runner.ran.load()), n);  // each item ran once, on some rank
  if (mpi::rank() == 0) {
    for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "item " << i;
    EXPECT_TRUE(results_match);
    EXPECT_EQ(s.dropped(), 0u);
  }
}

TEST(MpiItemStream, AStopOnTheLastRankReachesEveryRankAndHandedOutItemsComplete) {
  // An endless input: items run until the stop (at most 10 s). The last rank stops the
  // stream once one of its own items runs; every rank must see code 7 and return.
  item_runner runner;
  std::atomic<std::uint64_t> stop_code{0};
  std::atomic<bool> stop_raised{false};
  std::int64_t results = 0;
  mpi::item_stream* self = nullptr;
  const bool last = mpi::rank() == mpi::size() - 1;
  mpi::item_stream s(1, {.run =
                             [&](std::uint64_t index, std::string) {
                               runner.group.spawn([&, index] {
                                 runner.ran.fetch_add(1, std::memory_order_relaxed);
                                 if (last && !stop_raised.exchange(true)) self->stop(7);
                                 run_until_stopped(runner.stop.get_token(), 10'000ms);
                                 self->complete(index, "");
                               });
                             },
                         .finished = [&](std::uint64_t, int, std::string) { ++results; },
                         .stopped =
                             [&](std::uint64_t code) {
                               stop_code.store(code);
                               runner.stop.request_stop();
                             }});
  self = &s;
  std::thread producer;
  std::int64_t pushed = 0;
  if (mpi::rank() == 0)
    producer = std::thread([&] {
      while (s.push("x")) ++pushed;
    });
  const auto t0 = now_us();
  s.run();
  const auto took_us = now_us() - t0;
  if (producer.joinable()) producer.join();
  runner.group.join();
  EXPECT_EQ(stop_code.load(), 7u) << "rank " << mpi::rank();
  EXPECT_LT(took_us, 8'000'000) << "the stream did not end after the stop";
  const std::int64_t ran = all_sum(runner.ran.load());
  if (mpi::rank() == 0) {
    EXPECT_EQ(results, ran);  // every handed-out item completed and was reported
    EXPECT_EQ(results + static_cast<std::int64_t>(s.dropped()), pushed);
  }
}

TEST(MpiItemStream, CloseAndDropLetsRunningItemsFinish) {
  // Rank 0 drops the rest once 20 results are in (GNU's --halt soon): no stop reaches any
  // rank, every item that started finishes normally.
  item_runner runner;
  std::atomic<bool> stopped{false};
  std::int64_t results = 0, pushed = 0;
  mpi::item_stream* self = nullptr;
  mpi::item_stream s(1, {.run =
                             [&](std::uint64_t index, std::string) {
                               runner.group.spawn([&, index] {
                                 runner.ran.fetch_add(1, std::memory_order_relaxed);
                                 std::this_thread::sleep_for(2ms);
                                 self->complete(index, "done");
                               });
                             },
                         .finished =
                             [&](std::uint64_t, int, std::string result) {
                               EXPECT_EQ(result, "done");
                               if (++results == 20) self->close_and_drop();
                             },
                         .stopped = [&](std::uint64_t) { stopped = true; }});
  self = &s;
  std::thread producer;
  if (mpi::rank() == 0)
    producer = std::thread([&] {
      while (s.push("x")) ++pushed;
    });
  s.run();
  if (producer.joinable()) producer.join();
  runner.group.join();
  EXPECT_FALSE(stopped.load());
  const std::int64_t ran = all_sum(runner.ran.load());
  if (mpi::rank() == 0) {
    EXPECT_GE(results, 20);
    EXPECT_EQ(results, ran);
    EXPECT_EQ(results + static_cast<std::int64_t>(s.dropped()), pushed);
  }
}
