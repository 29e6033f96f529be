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
#include <chrono>
#include <cstddef>
#include <random>
#include <thread>
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

// Spins without yielding until pred() holds, checking the clock every 1024 tries so the
// spin stays tight; false if patience() passes first.
template <class Pred>
bool spin_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + cohort_test::patience();
  for (unsigned i = 1;; ++i) {
    if (pred()) return true;
    if (i % 1024 == 0 && std::chrono::steady_clock::now() >= deadline) return pred();
  }
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
      // A tight spin (no yield: the completion must land right after the test's signal),
      // bounded: a test thread that never signals costs the round, not the run.
      if (!spin_until([this] { return waiting_.load(std::memory_order_acquire); }))
        racer_gave_up_.store(true, std::memory_order_relaxed);
      spin(delay);
      return 1;
    }));
  }
  // Returns once the racer runs (false if it never did); the caller waits right after.
  [[nodiscard]] bool about_to_wait() {
    // Yields: three threads spinning on two cores (this one, the held task, the racer)
    // can otherwise take a scheduler tick per round.
    const bool started =
        eventually([this] { return racer_started_.load(std::memory_order_acquire); });
    waiting_.store(true, std::memory_order_release);
    return started;
  }
  // True if the racer stopped waiting for about_to_wait() (the round proves nothing).
  bool racer_gave_up() const { return racer_gave_up_.load(std::memory_order_relaxed); }
  void release_held() { released_ = true; }
  void join() { group_.join(); }

  std::vector<cohort::task<int>> tasks;

 private:
  std::atomic<bool> released_{false};
  std::atomic<bool> racer_started_{false};
  std::atomic<bool> waiting_{false};
  std::atomic<bool> racer_gave_up_{false};
  cohort::task_group group_;
};

TEST(combinators_stress, wait_first_completed_never_misses_a_completion_racing_with_it) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  std::mt19937 rng(7);
  const int rounds = static_cast<int>(scaled(10'000, 1'000));
  for (int r = 0; r < rounds; ++r) {
    racing_round round(s, rng() % 300);
    ASSERT_TRUE(round.about_to_wait()) << "round " << r << ": the racer never started";
    const auto result = cohort::wait(round.tasks, cohort::wait_policy::first_completed);
    // Held until the wait returns: it completed first only if the wait missed the racer.
    const bool held_still_running = !round.tasks[0].done();
    round.release_held();
    round.join();
    ASSERT_EQ(result.done, (idx{1})) << "round " << r << ": the wait missed task 1's completion";
    ASSERT_TRUE(held_still_running) << "round " << r;
    ASSERT_FALSE(round.racer_gave_up()) << "round " << r;
  }
}

TEST(combinators_stress, as_completed_never_misses_a_completion_racing_with_it) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  std::mt19937 rng(11);
  const int rounds = static_cast<int>(scaled(5'000, 500));
  for (int r = 0; r < rounds; ++r) {
    racing_round round(s, rng() % 300);
    if (!round.about_to_wait()) {
      round.release_held();
      round.join();
      FAIL() << "round " << r << ": the racer never started";
    }
    int first = -1;
    for (auto& t : cohort::as_completed(round.tasks)) {
      if (first < 0) {
        first = t.get();
        round.release_held();
      }
    }
    round.join();
    ASSERT_EQ(first, 1) << "round " << r << ": as_completed missed task 1's completion";
    ASSERT_FALSE(round.racer_gave_up()) << "round " << r;
  }
}

}  // namespace
