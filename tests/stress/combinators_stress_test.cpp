// SPDX-License-Identifier: Apache-2.0
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

// One round: task 0 is held until the test releases it; task 1 (the racer) completes
// `delay` spins after the test says it is about to wait. The test thread waits for the
// racer to be running before it says so, so the racer's completion lands inside the wait
// that follows, wherever `delay` puts it.
class racing_round {
 public:
  racing_round(cohort::scheduler& s, unsigned delay) : group_(s) {
    tasks.push_back(group_.spawn([this] {
      eventually([this] { return released_.load(); });
      return 0;
    }));
    tasks.push_back(group_.spawn([this, delay] {
      racer_started_.store(true, std::memory_order_release);
      while (!waiting_.load(std::memory_order_acquire)) {
      }
      spin(delay);
      return 1;
    }));
  }
  // Returns once the racer runs; the caller waits right after.
  void about_to_wait() {
    // Yields: three threads spinning on two cores (this one, the held task, the racer)
    // can otherwise take a scheduler tick per round.
    while (!racer_started_.load(std::memory_order_acquire)) std::this_thread::yield();
    waiting_.store(true, std::memory_order_release);
  }
  void release_held() { released_ = true; }
  void join() { group_.join(); }

  std::vector<cohort::task<int>> tasks;

 private:
  std::atomic<bool> released_{false};
  std::atomic<bool> racer_started_{false};
  std::atomic<bool> waiting_{false};
  cohort::task_group group_;
};

TEST(combinators_stress, wait_first_completed_never_misses_a_completion_racing_with_it) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  std::mt19937 rng(7);
  const int rounds = static_cast<int>(scaled(10'000, 1'000));
  for (int r = 0; r < rounds; ++r) {
    racing_round round(s, rng() % 300);
    round.about_to_wait();
    const auto result = cohort::wait(round.tasks, cohort::wait_policy::first_completed);
    // Held until the wait returns: it completed first only if the wait missed the racer.
    const bool held_still_running = !round.tasks[0].done();
    round.release_held();
    round.join();
    ASSERT_EQ(result.done, (idx{1})) << "round " << r << ": the wait missed task 1's completion";
    ASSERT_TRUE(held_still_running) << "round " << r;
  }
}

TEST(combinators_stress, as_completed_never_misses_a_completion_racing_with_it) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  std::mt19937 rng(11);
  const int rounds = static_cast<int>(scaled(5'000, 500));
  for (int r = 0; r < rounds; ++r) {
    racing_round round(s, rng() % 300);
    round.about_to_wait();
    int first = -1;
    for (auto& t : cohort::as_completed(round.tasks)) {
      if (first < 0) {
        first = t.get();
        round.release_held();
      }
    }
    round.join();
    ASSERT_EQ(first, 1) << "round " << r << ": as_completed missed task 1's completion";
  }
}

}  // namespace
