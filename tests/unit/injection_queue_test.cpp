// SPDX-License-Identifier: Apache-2.0
// The injection queue (lib/injection_queue.hpp): where threads outside the pool submit.
#include "injection_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort::detail::injection_queue;
using cohort::detail::job;
using cohort_test::scaled;

void never_run(job*) noexcept {}
constexpr cohort::detail::job_type never_run_type{&never_run, cohort::detail::job_kind::pool_entry};

std::vector<job> make_jobs(std::size_t n) {
  return std::vector<job>(n, job{&never_run_type});
}

TEST(injection_queue, smoke_push_then_pop_returns_the_jobs) {
  injection_queue q;
  auto jobs = make_jobs(3);
  q.push(&jobs[0]);
  q.push(&jobs[1]);
  q.push(&jobs[2]);
  EXPECT_FALSE(q.looks_empty());
  EXPECT_EQ(q.size_hint(), 3u);
  job* out[4] = {};
  ASSERT_EQ(q.pop_batch(out, 4), 3u);
  EXPECT_EQ(out[0], &jobs[0]);
  EXPECT_EQ(out[1], &jobs[1]);
  EXPECT_EQ(out[2], &jobs[2]);
  EXPECT_TRUE(q.looks_empty());
  EXPECT_EQ(q.size_hint(), 0u);
}

TEST(injection_queue, empty_queue_pops_nothing) {
  injection_queue q;
  job* out[2] = {nullptr, nullptr};
  EXPECT_TRUE(q.looks_empty());
  EXPECT_EQ(q.pop_batch(out, 2), 0u);
  EXPECT_EQ(out[0], nullptr);
  auto jobs = make_jobs(1);
  q.push(&jobs[0]);
  ASSERT_EQ(q.pop_batch(out, 2), 1u);
  EXPECT_EQ(q.pop_batch(out + 1, 1), 0u);
  EXPECT_EQ(out[1], nullptr);
  EXPECT_TRUE(q.looks_empty());
}

TEST(injection_queue, batch_pop_takes_at_most_max_oldest_first) {
  injection_queue q;
  auto jobs = make_jobs(10);
  for (auto& j : jobs) q.push(&j);
  job* out[10] = {};
  std::size_t taken = 0;
  for (std::size_t batch : {3u, 1u, 4u, 5u}) {
    const std::size_t n = q.pop_batch(out, batch);
    ASSERT_EQ(n, std::min(batch, jobs.size() - taken));
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(out[i], &jobs[taken + i]) << "FIFO order";
    taken += n;
    EXPECT_EQ(q.size_hint(), jobs.size() - taken);
  }
  EXPECT_EQ(taken, jobs.size());
  EXPECT_TRUE(q.looks_empty());
}

TEST(injection_queue, each_producers_jobs_come_out_in_its_push_order) {
  // With concurrent producers the global order is an interleaving, but per producer it is
  // FIFO (one consumer here, so pops are totally ordered).
  constexpr std::size_t producers = 3;
  const std::size_t per = scaled(50'000, 20'000);
  injection_queue q;
  std::vector<std::vector<job>> jobs;
  for (std::size_t p = 0; p < producers; ++p) jobs.push_back(make_jobs(per));
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (auto& j : jobs[p]) q.push(&j);
    });
  std::vector<std::size_t> next(producers, 0);
  std::size_t got = 0;
  job* out[16];
  const auto deadline = std::chrono::steady_clock::now() + cohort_test::patience();
  while (got < producers * per && std::chrono::steady_clock::now() < deadline) {
    const std::size_t n = q.pop_batch(out, 16);
    for (std::size_t i = 0; i < n; ++i) {
      bool found = false;
      for (std::size_t p = 0; p < producers; ++p) {
        if (out[i] >= jobs[p].data() && out[i] < jobs[p].data() + per) {
          ASSERT_EQ(out[i], &jobs[p][next[p]]) << "producer " << p << " out of order";
          ++next[p];
          found = true;
        }
      }
      ASSERT_TRUE(found);
    }
    got += n;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(got, producers * per);
}

TEST(injection_queue, stress_many_producers_many_consumers_take_each_job_once) {
  constexpr std::size_t producers = 3;
  constexpr std::size_t consumers = 3;
  const std::size_t per = scaled(60'000, 20'000);
  const std::size_t total = producers * per;
  injection_queue q;
  auto jobs = make_jobs(total);
  std::vector<std::atomic<std::uint8_t>> taken(total);
  std::atomic<std::size_t> consumed{0};
  cohort_test::gate go;  // producers and consumers start together
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      EXPECT_TRUE(go.wait()) << "the start gate never opened";
      for (std::size_t i = p * per; i < (p + 1) * per; ++i) q.push(&jobs[i]);
    });
  for (std::size_t c = 0; c < consumers; ++c)
    threads.emplace_back([&, c] {
      EXPECT_TRUE(go.wait()) << "the start gate never opened";
      job* out[8];
      const auto deadline = std::chrono::steady_clock::now() + cohort_test::patience();
      while (consumed.load(std::memory_order_relaxed) < total &&
             std::chrono::steady_clock::now() < deadline) {
        const std::size_t n = q.pop_batch(out, 1 + c * 3);  // batches of 1, 4, 7
        for (std::size_t i = 0; i < n; ++i) {
          const auto idx = static_cast<std::size_t>(out[i] - jobs.data());
          ASSERT_LT(idx, total);
          taken[idx].fetch_add(1, std::memory_order_relaxed);
        }
        if (n == 0) std::this_thread::yield();
        consumed.fetch_add(n, std::memory_order_relaxed);
      }
    });
  go.open();
  for (auto& t : threads) t.join();
  EXPECT_EQ(consumed.load(), total);
  std::size_t bad = 0;
  for (auto& t : taken)
    if (t.load() != 1) ++bad;
  EXPECT_EQ(bad, 0u) << "jobs lost or taken twice";
  EXPECT_TRUE(q.looks_empty());
}

}  // namespace
