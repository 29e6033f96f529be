// SPDX-License-Identifier: Apache-2.0
// The parking protocol (lib/sleep.hpp) on its own, without a pool: the counts of
// sleeping, searching and blocked threads, whom a new job wakes, and the compensation
// that starts a spare thread when a worker blocks.
//
// The sleep_module is driven by hand from the test thread: "worker i" is only an index,
// and the spare-thread callback records what it was asked to start instead of starting
// anything. Only the futex test runs a second thread, with every wait bounded.
#include "sleep.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort::detail::sleep_module;
using cohort_test::eventually;
using namespace std::chrono_literals;

// What the module asked the pool to start.
struct spare_log {
  std::vector<std::size_t> started;
  bool succeed = true;
  static bool spawn(void* ctx, std::size_t index) {
    auto* self = static_cast<spare_log*>(ctx);
    self->started.push_back(index);
    return self->succeed;
  }
};

// Worker i goes from running to sleeping as a worker does in park(): search, announce.
std::uint32_t put_to_sleep(sleep_module& m, std::size_t i) {
  m.begin_search();
  const std::uint32_t generation = m.announce_sleep(i);
  m.barrier_before_last_look();
  return generation;
}

TEST(sleep, the_primaries_start_running_and_nobody_sleeps_or_blocks) {
  spare_log log;
  sleep_module m(3, 8, &spare_log::spawn, &log);
  EXPECT_EQ(m.limit(), 3u);
  EXPECT_EQ(m.threads(), 3u);
  EXPECT_EQ(m.sleeping_now(), 0u);
  EXPECT_EQ(m.blocked_now(), 0u);
  EXPECT_FALSE(m.over_limit());
  EXPECT_TRUE(log.started.empty());
}

TEST(sleep, announcing_sleep_counts_a_sleeper_and_leaving_uncounts_it) {
  spare_log log;
  sleep_module m(2, 2, &spare_log::spawn, &log);
  put_to_sleep(m, 0);
  EXPECT_EQ(m.sleeping_now(), 1u);
  put_to_sleep(m, 1);
  EXPECT_EQ(m.sleeping_now(), 2u);
  // Nobody woke worker 1 (a timeout, or it found work on its last look): it leaves the
  // sleeping count itself, and only once.
  m.after_sleep(1);
  EXPECT_EQ(m.sleeping_now(), 1u);
  m.after_sleep(1);
  EXPECT_EQ(m.sleeping_now(), 1u) << "a second after_sleep uncounted a sleeper twice";
}

TEST(sleep, a_wake_claims_the_sleeper_and_its_sleep_then_returns_at_once) {
  spare_log log;
  sleep_module m(2, 2, &spare_log::spawn, &log);
  const std::uint32_t generation = put_to_sleep(m, 0);
  m.wake(0);
  // The waker moved it from sleeping to searching already.
  EXPECT_EQ(m.sleeping_now(), 0u);
  // Woken between announce_sleep and sleep: the generation moved, so sleep() must not
  // block. A lost wake-up would sleep the whole (long) timeout.
  const auto start = std::chrono::steady_clock::now();
  m.sleep(0, generation, cohort_test::patience());
  EXPECT_LT(std::chrono::steady_clock::now() - start, cohort_test::patience() / 2);
  m.after_sleep(0);
  EXPECT_EQ(m.sleeping_now(), 0u) << "after_sleep uncounted a sleeper the waker had claimed";
}

TEST(sleep, waking_an_awake_worker_changes_nothing) {
  spare_log log;
  sleep_module m(2, 2, &spare_log::spawn, &log);
  put_to_sleep(m, 1);
  m.wake(0);  // worker 0 runs
  EXPECT_EQ(m.sleeping_now(), 1u);
}

TEST(sleep, a_new_job_wakes_a_sleeper_when_nobody_searches_and_threads_are_missing) {
  spare_log log;
  sleep_module m(2, 2, &spare_log::spawn, &log);
  put_to_sleep(m, 0);  // active: 1 of 2, nobody searching
  m.notify_injected_job();
  EXPECT_EQ(m.sleeping_now(), 0u) << "the job did not wake the sleeper";
  EXPECT_TRUE(log.started.empty()) << "a spare was started although somebody slept";
}

TEST(sleep, a_new_job_wakes_nobody_while_a_worker_searches) {
  spare_log log;
  sleep_module m(2, 2, &spare_log::spawn, &log);
  put_to_sleep(m, 0);
  m.begin_search();  // worker 1 is idle and looking: it will find the job
  m.notify_injected_job();
  m.notify_local_job();
  EXPECT_EQ(m.sleeping_now(), 1u) << "woke a sleeper although a searcher will find the job";
}

TEST(sleep, a_new_job_wakes_nobody_when_every_thread_is_active) {
  spare_log log;
  sleep_module m(1, 2, &spare_log::spawn, &log);
  m.notify_injected_job();
  m.notify_local_job();
  EXPECT_EQ(m.threads(), 1u);
  EXPECT_TRUE(log.started.empty());
}

TEST(sleep, the_last_searcher_to_find_work_wakes_a_sleeper_for_what_may_follow) {
  spare_log log;
  sleep_module m(2, 2, &spare_log::spawn, &log);
  put_to_sleep(m, 0);
  m.begin_search();  // worker 1
  m.end_search();    // found work; it was the last searcher and a thread is missing
  EXPECT_EQ(m.sleeping_now(), 0u);
}

TEST(sleep, a_searcher_that_is_not_the_last_wakes_nobody) {
  spare_log log;
  sleep_module m(3, 3, &spare_log::spawn, &log);
  put_to_sleep(m, 0);
  m.begin_search();  // worker 1
  m.begin_search();  // worker 2
  m.end_search();    // worker 1 found work; worker 2 still searches
  EXPECT_EQ(m.sleeping_now(), 1u);
}

TEST(sleep, a_blocked_worker_with_visible_work_is_compensated_by_a_spare) {
  spare_log log;
  sleep_module m(1, 3, &spare_log::spawn, &log);
  m.block(false);
  m.barrier_before_last_look();
  EXPECT_EQ(m.blocked_now(), 1u);
  m.compensate(true);
  ASSERT_EQ(log.started, (std::vector<std::size_t>{1})) << "no spare took the blocked place";
  EXPECT_EQ(m.threads(), 2u);
  // The spare counts as searching: a second job wakes nobody and starts nothing more.
  m.notify_injected_job();
  EXPECT_EQ(log.started.size(), 1u);
  // Unblocked, the pool has two active threads for a limit of one: one must retire.
  m.unblock();
  EXPECT_EQ(m.blocked_now(), 0u);
  EXPECT_TRUE(m.over_limit());
}

TEST(sleep, a_blocked_worker_without_visible_work_starts_nothing) {
  spare_log log;
  sleep_module m(1, 3, &spare_log::spawn, &log);
  m.block(false);
  m.barrier_before_last_look();
  m.compensate(false);
  EXPECT_TRUE(log.started.empty());
  m.unblock();
  EXPECT_FALSE(m.over_limit());
}

TEST(sleep, compensation_wakes_a_sleeper_before_starting_a_spare) {
  spare_log log;
  sleep_module m(2, 4, &spare_log::spawn, &log);
  put_to_sleep(m, 1);
  m.block(false);  // worker 0
  m.barrier_before_last_look();
  m.compensate(true);
  EXPECT_EQ(m.sleeping_now(), 0u);
  EXPECT_TRUE(log.started.empty()) << "started a spare although a worker slept";
}

TEST(sleep, a_blocking_searcher_leaves_the_searching_count) {
  spare_log log;
  sleep_module m(1, 2, &spare_log::spawn, &log);
  m.begin_search();
  m.block(true);  // counted as searching before: no searcher is left
  m.barrier_before_last_look();
  m.compensate(true);
  EXPECT_EQ(log.started, (std::vector<std::size_t>{1}))
      << "a stale searching count kept the spare from starting";
}

TEST(sleep, a_spare_that_cannot_start_counts_as_blocked_for_good) {
  spare_log log;
  log.succeed = false;
  sleep_module m(1, 3, &spare_log::spawn, &log);
  m.block(false);
  m.barrier_before_last_look();
  m.compensate(true);
  ASSERT_EQ(log.started.size(), 1u);
  EXPECT_EQ(m.threads(), 2u) << "the failed spare keeps its index";
  EXPECT_EQ(m.blocked_now(), 2u) << "the failed spare must count as blocked";
  // Still one thread short: the next job tries the next index.
  m.notify_injected_job();
  EXPECT_EQ(log.started, (std::vector<std::size_t>{1, 2}));
}

TEST(sleep, no_spare_beyond_capacity) {
  spare_log log;
  sleep_module m(1, 1, &spare_log::spawn, &log);
  m.block(false);
  m.barrier_before_last_look();
  testing::internal::CaptureStderr();
  m.compensate(true);
  const std::string warning = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(log.started.empty());
  EXPECT_EQ(m.threads(), 1u);
  // Warned once per process (no other test here runs out of capacity): the message
  // names the situation.
  EXPECT_NE(warning.find("no spare thread is left"), std::string::npos) << warning;
}

TEST(sleep, wake_all_claims_every_sleeper) {
  spare_log log;
  sleep_module m(3, 3, &spare_log::spawn, &log);
  for (std::size_t i = 0; i < 3; ++i) put_to_sleep(m, i);
  EXPECT_EQ(m.sleeping_now(), 3u);
  m.wake_all();
  EXPECT_EQ(m.sleeping_now(), 0u);
}

// A real sleeper on its futex, woken by a job published from outside: no wake-up is lost
// however the two interleave (looped), and every wait is bounded.
TEST(sleep, a_thread_sleeping_on_its_futex_is_woken_by_an_injected_job) {
  spare_log log;
  sleep_module m(1, 1, &spare_log::spawn, &log);
  const int rounds = static_cast<int>(cohort_test::scaled(200, 50));
  for (int r = 0; r < rounds; ++r) {
    std::atomic<bool> published{false};
    std::atomic<bool> returned{false};
    std::thread sleeper([&] {
      const std::uint32_t generation = put_to_sleep(m, 0);
      // The last look (Dekker): a job published before our announcement is seen here.
      if (!published.load(std::memory_order_seq_cst))
        m.sleep(0, generation, cohort_test::patience() * 2);
      m.after_sleep(0);
      m.end_search();
      returned.store(true);
    });
    if (r % 2 == 0) eventually([&] { return m.sleeping_now() == 1; });
    published.store(true, std::memory_order_seq_cst);
    m.notify_injected_job();
    const bool woke = eventually([&] { return returned.load(); });
    sleeper.join();
    ASSERT_TRUE(woke) << "round " << r << ": the sleeper missed the job's wake-up";
    ASSERT_EQ(m.sleeping_now(), 0u) << "round " << r;
  }
}

}  // namespace
