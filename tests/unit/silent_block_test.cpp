// SPDX-License-Identifier: Apache-2.0
// The silent-block guard (lib/silent_block.hpp): a pool thread blocked outside cohort
// without cohort::blocking() while queued work waits is counted as blocked, and another
// thread takes that work; a thread that computes is left alone.
#include <gtest/gtest.h>

#include <cohort/cohort.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort_test::patience;
using cohort_test::poll_until;

// A task that waits outside cohort (sleeping in poll_until, no cohort::blocking()) for its
// own child, which sits on the deque of the pool's only worker, the very thread that
// waits. Before the guard this waited for ever: nothing counted the thread as blocked, so
// no spare came. Now the guard finds it off the CPU with work queued, and a spare runs
// the child.
TEST(silent_block, a_task_blocked_outside_cohort_on_its_queued_child_gets_a_thread_for_it) {
  cohort::scheduler s({.workers = 1});
  std::atomic<bool> child_ran{false}, saw_it{false}, done{false};
  s.spawn_detached([&] {
    cohort::task_group g;
    g.spawn([&] { child_ran.store(true); });
    saw_it.store(poll_until([&] { return child_ran.load(); }));
    g.join();
    done.store(true);
  });
  EXPECT_TRUE(poll_until([&] { return done.load(); }, 2 * patience()));
  EXPECT_TRUE(saw_it.load()) << "the queued child never ran while its parent slept on it";
  EXPECT_GE(s.stats().silent_blocks, 1u);
  EXPECT_GE(s.stats().spare_threads, 1u);
}

// The shape lib/README.md described as a known hole (found by review, 2026-12-02): R, on
// the only worker, spawns c0, X, Y and blocks (counted) for a while, so spares take c0 and
// X. X blocks outside cohort until Y starts; c0 then waits on X, and that wait steals Y
// off R's deque (a foreign job: handed to the injection queue). X's thread is uncounted,
// so the pool looked full and no spare came for Y; R's join no longer finds it. The guard
// counts X's thread as blocked, and a thread takes Y from the queue.
TEST(silent_block, a_sibling_handed_away_from_a_workers_joiner_still_runs) {
  cohort::scheduler s({.workers = 1});
  std::atomic<bool> y_started{false}, x_started{false}, x_gave_up{false}, done{false};
  std::atomic<cohort::task<void>*> x_handle{nullptr};
  s.spawn_detached([&] {  // R
    cohort::task_group g;
    g.spawn([&] {  // c0
      cohort::blocking([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); });
      poll_until([&] { return x_handle.load() != nullptr && x_started.load(); });
      if (auto* x = x_handle.load()) x->wait();
    });
    auto x = g.spawn([&] {  // X
      x_started.store(true);
      if (!poll_until([&] { return y_started.load(); })) x_gave_up.store(true);
    });
    x_handle.store(&x);
    g.spawn([&] { y_started.store(true); });  // Y
    cohort::blocking([] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); });
    g.join();
    done.store(true);
  });
  EXPECT_TRUE(poll_until([&] { return done.load(); }, 2 * patience()));
  EXPECT_FALSE(x_gave_up.load()) << "the sibling that releases X never ran in time";
}

// CPU time of the calling thread.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// The other side: a worker that computes for a long time while work waits behind it is
// not blocked, and is not counted so (the queued job waits for it, as `workers = 1`
// says). Skipped when the machine is so loaded that the computing thread itself got
// little CPU (then it may look blocked, and counting it so is the guard's known limit).
TEST(silent_block, a_computing_worker_is_not_counted_as_blocked) {
  cohort::scheduler s({.workers = 1});
  std::atomic<bool> queued_ran{false}, ran_early{false}, done{false};
  std::atomic<std::int64_t> cpu_ms{0}, wall_ms{0};
  // Detached, and main waits outside cohort: nothing but the pool's one thread (and a
  // spare, if the guard wrongly started one) can run the queued child.
  s.spawn_detached([&] {
    cohort::task_group g;
    g.spawn([&] { queued_ran.store(true); });
    const auto wall0 = std::chrono::steady_clock::now();
    const auto cpu0 = thread_cpu_time();
    volatile std::uint64_t sink = 0;
    while (std::chrono::steady_clock::now() - wall0 < 300ms) {
      for (int i = 0; i < 1000; ++i) sink = sink + i;
    }
    ran_early.store(queued_ran.load());
    cpu_ms.store(
        std::chrono::duration_cast<std::chrono::milliseconds>(thread_cpu_time() - cpu0).count());
    wall_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - wall0)
                      .count());
    g.join();
    done.store(true);
  });
  ASSERT_TRUE(poll_until([&] { return done.load(); }));
  if (cpu_ms.load() * 10 < wall_ms.load() * 9)
    GTEST_SKIP() << "the computing thread got " << cpu_ms.load() << " ms of CPU in "
                 << wall_ms.load() << " ms: the machine is too loaded to tell";
  EXPECT_EQ(s.stats().silent_blocks, 0u);
  EXPECT_FALSE(ran_early.load()) << "a second thread ran while the only worker computed";
  EXPECT_TRUE(queued_ran.load());
}

// cohort::blocking() is the way to say it: the worker is counted as blocked by its own
// step, a spare runs the child, and the guard has nothing to find.
TEST(silent_block, a_wait_inside_cohort_blocking_is_not_a_silent_block) {
  cohort::scheduler s({.workers = 1});
  std::atomic<bool> child_ran{false}, saw_it{false}, done{false};
  s.spawn_detached([&] {
    cohort::task_group g;
    g.spawn([&] { child_ran.store(true); });
    saw_it.store(cohort::blocking([&] { return poll_until([&] { return child_ran.load(); }); }));
    g.join();
    done.store(true);
  });
  ASSERT_TRUE(poll_until([&] { return done.load(); }));
  EXPECT_TRUE(saw_it.load());
  EXPECT_EQ(s.stats().silent_blocks, 0u);
}

}  // namespace
