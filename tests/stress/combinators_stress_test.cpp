// The combinators' waits under races looped many times: a task completing at the very
// moment a thread starts waiting on it must never be missed.
//
// Each round starts a task that completes a short, random time after the waiter says it
// is about to wait, so over many rounds the completion lands everywhere inside the
// wait's own bookkeeping. A missed completion shows as a wait that returns only when a
// task held for the whole round is released (the test's patience), never as a hang.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <random>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort_test::eventually;
using cohort_test::scaled;
using idx = std::vector<std::size_t>;

// Spins for `n` rounds of cheap work the optimiser cannot drop.
void spin(unsigned n) {
  std::atomic<unsigned> sink{0};
  for (unsigned i = 0; i < n; ++i) sink.fetch_add(1, std::memory_order_relaxed);
}

TEST(combinators_stress, wait_first_completed_never_misses_a_completion_racing_with_it) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  std::mt19937 rng(7);
  const int rounds = static_cast<int>(scaled(10'000, 1'000));
  for (int r = 0; r < rounds; ++r) {
    std::atomic<bool> release_held{false};
    std::atomic<bool> racer_started{false};
    std::atomic<bool> waiting{false};
    const unsigned delay = rng() % 300;
    cohort::task_group g(s);
    std::vector<cohort::task<int>> tasks;
    // Held until the wait returns: it completes first only if the wait missed the other.
    tasks.push_back(g.spawn([&] {
      eventually([&] { return release_held.load(); });
      return 0;
    }));
    tasks.push_back(g.spawn([&] {
      racer_started.store(true, std::memory_order_release);
      while (!waiting.load(std::memory_order_acquire)) {
      }
      spin(delay);
      return 1;
    }));
    while (!racer_started.load(std::memory_order_acquire)) {
    }
    waiting.store(true, std::memory_order_release);
    const auto result = cohort::wait(tasks, cohort::wait_policy::first_completed);
    const bool held_still_running = !tasks[0].done();
    release_held = true;
    g.join();
    ASSERT_EQ(result.done, (idx{1})) << "round " << r << ": the wait missed task 1's completion";
    ASSERT_TRUE(held_still_running) << "round " << r;
  }
}

TEST(combinators_stress, as_completed_never_misses_a_completion_racing_with_it) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  std::mt19937 rng(11);
  const int rounds = static_cast<int>(scaled(5'000, 500));
  for (int r = 0; r < rounds; ++r) {
    std::atomic<bool> release_held{false};
    std::atomic<bool> racer_started{false};
    std::atomic<bool> waiting{false};
    const unsigned delay = rng() % 300;
    cohort::task_group g(s);
    std::vector<cohort::task<int>> tasks;
    tasks.push_back(g.spawn([&] {
      eventually([&] { return release_held.load(); });
      return 0;
    }));
    tasks.push_back(g.spawn([&] {
      racer_started.store(true, std::memory_order_release);
      while (!waiting.load(std::memory_order_acquire)) {
      }
      spin(delay);
      return 1;
    }));
    while (!racer_started.load(std::memory_order_acquire)) {
    }
    waiting.store(true, std::memory_order_release);
    int first = -1;
    for (auto& t : cohort::as_completed(tasks)) {
      if (first < 0) {
        first = t.get();
        release_held = true;
      }
    }
    g.join();
    ASSERT_EQ(first, 1) << "round " << r << ": as_completed missed task 1's completion";
  }
}

}  // namespace
