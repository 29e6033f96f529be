// SPDX-License-Identifier: Apache-2.0
// The scheduler under churn: many pools started and stopped, detached work from many
// threads, wake-ups of parked workers.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort_test::eventually;
using cohort_test::scaled;

TEST(scheduler_stress, fifty_schedulers_started_and_stopped_some_with_work_in_flight) {
  std::mt19937 rng(2024);
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> detached_ran{0};
    int detached_spawned = 0;
    {
      cohort::scheduler s({.workers = 1 + static_cast<std::size_t>(round % 3), .name = "churn"});
      switch (round % 4) {
        case 0:  // idle: created and destroyed at once
          break;
        case 1:  // detached work still queued or running at destruction
          detached_spawned = 50;
          for (int i = 0; i < detached_spawned; ++i) {
            s.spawn_detached([&detached_ran, i] {
              if (i % 10 == 0) std::this_thread::sleep_for(200us);
              detached_ran.fetch_add(1);
            });
          }
          break;
        case 2: {  // a joined group, then detached work spawned from inside the pool
          cohort::task_group g(s);
          for (int i = 0; i < 20; ++i) {
            g.spawn([&s, &detached_ran] {
              s.spawn_detached([&detached_ran] { detached_ran.fetch_add(1); });
            });
          }
          g.join();
          detached_spawned = 20;
          break;
        }
        case 3: {  // a group with a deadline (starts the timer thread), then shutdown
          cohort::task_group g(s);
          g.cancel_after(std::chrono::microseconds(rng() % 500));
          for (int i = 0; i < 10; ++i) {
            g.spawn([](std::stop_token st) {
              for (int k = 0; k < 100 && !st.stop_requested(); ++k)
                std::this_thread::sleep_for(10us);
            });
          }
          try {
            g.join();
          } catch (const cohort::timeout_error&) {
          }
          break;
        }
      }
    }
    ASSERT_EQ(detached_ran.load(), detached_spawned) << "round " << round;
  }
}

TEST(scheduler_stress, detached_tasks_from_many_threads_all_run) {
  constexpr int producers = 4;
  const int per = static_cast<int>(scaled(25'000, 10'000));
  std::atomic<long> ran{0};
  {
    cohort::scheduler s({.workers = 2, .name = "many"});
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        for (int i = 0; i < per; ++i)
          s.spawn_detached([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(ran.load(), static_cast<long>(producers) * per);
}

TEST(scheduler_stress, a_parked_pool_wakes_for_every_submission) {
  // Submit one task at a time with pauses long enough for the workers to park; each must
  // be picked up promptly (a lost wake-up would stall it until the next submission).
  cohort::scheduler s({.workers = 2, .name = "wake"});
  const int rounds = static_cast<int>(scaled(200, 50));
  std::mt19937 rng(99);
  for (int r = 0; r < rounds; ++r) {
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    std::atomic<bool> ran{false};
    cohort::task_group g(s);
    g.spawn([&] { ran = true; });
    ASSERT_TRUE(eventually([&] { return ran.load(); }, 5s)) << "round " << r << " never started";
    g.join();
  }
}

TEST(scheduler_stress, work_spawned_inside_the_pool_reaches_an_idle_worker) {
  // A task on one worker spawns two children that can only finish together (each waits for
  // the other to start), and does not help while they run (it waits on a plain flag, not
  // a cohort wait). The second worker must be woken for the pushed job; a wake-up lost
  // between its last look for work and its sleep leaves the pair stuck until a timeout.
  cohort::scheduler s({.workers = 3, .name = "local"});
  const int rounds = static_cast<int>(scaled(2'000, 1'000));
  std::mt19937 rng(5);
  int stuck = 0;
  for (int r = 0; r < rounds && stuck == 0; ++r) {
    // Vary the pause so the idle workers are caught in every phase: spinning, about to
    // park, parked.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 400));
    std::atomic<int> arrived{0};
    std::atomic<bool> failed{false};
    cohort::task_group g(s);
    g.spawn([&] {
      cohort::task_group inner;
      for (int k = 0; k < 2; ++k) {
        inner.spawn([&] {
          arrived.fetch_add(1);
          if (!eventually([&] { return arrived.load() == 2; }, 2s)) failed = true;
        });
      }
      // Block this worker without helping, until both children have started.
      if (!eventually([&] { return arrived.load() == 2 || failed.load(); }, 2s)) failed = true;
      inner.join();
    });
    g.join();
    if (failed.load()) ++stuck;
  }
  EXPECT_EQ(stuck, 0) << "pushed jobs sat in a busy worker's deque while the others slept";
}

}  // namespace
