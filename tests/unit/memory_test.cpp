// SPDX-License-Identifier: Apache-2.0
// How cohort uses memory: what happens when it runs out, and the reserve of children's
// blocks it keeps for reuse.
//
// Out of memory in the middle of a spawn: the child is counted, but the queue it should
// go to cannot grow. It must end failed with std::bad_alloc (reported by join, cancelling
// its siblings) rather than be lost, which used to leave join() waiting forever. The same
// for gather, whose children live on the caller's frame: a fork that cannot be queued
// runs inline, so nothing on a deque outlives the frame.
//
// This file replaces the global operator new and delete (so it is its own test program):
// while a thread is "armed", every allocation of at least `fail_from` bytes on that thread
// throws std::bad_alloc. Children's blocks (64 bytes) still come through; the queues'
// growth (a deque buffer, a std::deque node, a vector's storage of 64+ pointers) does not.
// Frees are counted, to see what release_cached_memory() gives back.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

thread_local bool armed = false;
constexpr std::size_t fail_from = 512;
std::atomic<std::size_t> frees{0};

// Arms the current thread for the scope's lifetime.
struct allocation_failures {
  allocation_failures() { armed = true; }
  ~allocation_failures() { armed = false; }
  allocation_failures(const allocation_failures&) = delete;
  allocation_failures& operator=(const allocation_failures&) = delete;
};

}  // namespace

void* operator new(std::size_t n) {
  if (armed && n >= fail_from) throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The array forms too: a sanitizer's runtime may define them itself instead of forwarding
// to operator new (the deque's buffer is an array).
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
namespace {
void counted_free(void* p) noexcept {
  if (p != nullptr) frees.fetch_add(1, std::memory_order_relaxed);
  std::free(p);
}
}  // namespace
void operator delete(void* p) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using cohort_test::gate;
using cohort_test::with_watchdog;

bool is_bad_alloc(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return true;
  } catch (...) {
    return false;
  }
}

struct tally {
  std::size_t succeeded = 0, failed = 0, cancelled = 0, bad_allocs = 0;
};

tally count(std::vector<cohort::task<void>>& tasks) {
  tally t;
  for (auto& task : tasks) {
    EXPECT_TRUE(task.done());
    switch (task.status()) {
      case cohort::task_status::succeeded:
        ++t.succeeded;
        break;
      case cohort::task_status::failed:
        ++t.failed;
        if (is_bad_alloc(task.exception())) ++t.bad_allocs;
        break;
      case cohort::task_status::cancelled:
        ++t.cancelled;
        break;
      default:
        ADD_FAILURE() << "a task is neither succeeded, failed nor cancelled after join";
    }
  }
  return t;
}

// join() throws a task_group_error whose every exception is a std::bad_alloc.
void expect_join_reports_bad_alloc(cohort::task_group& g) {
  try {
    g.join();
    ADD_FAILURE() << "join() did not report the children that could not be queued";
  } catch (const cohort::task_group_error& e) {
    ASSERT_FALSE(e.exceptions().empty());
    for (const auto& x : e.exceptions()) EXPECT_TRUE(is_bad_alloc(x)) << e.what();
  }
}

TEST(out_of_memory, a_spawn_from_outside_whose_queue_cannot_grow_fails_that_task) {
  with_watchdog("spawn from outside under allocation failure", [] {
    cohort::scheduler s({.workers = 1, .name = "oom"});
    gate hold;  // keeps the only worker busy, so the injection queue must grow
    std::atomic<int> ran{0};
    cohort::task_group g(s);
    std::vector<cohort::task<void>> tasks;
    tasks.reserve(301);
    tasks.push_back(g.spawn([&] { hold.wait(); }));
    {
      allocation_failures failing;
      for (int i = 0; i < 300; ++i) tasks.push_back(g.spawn([&] { ran.fetch_add(1); }));
    }
    hold.open();
    expect_join_reports_bad_alloc(g);
    const tally t = count(tasks);
    EXPECT_GE(t.failed, 1u);
    EXPECT_EQ(t.failed, t.bad_allocs);
    EXPECT_EQ(t.succeeded + t.failed + t.cancelled, tasks.size());
    EXPECT_EQ(static_cast<std::size_t>(ran.load()) +
                  (tasks[0].status() == cohort::task_status::succeeded),
              t.succeeded);
  });
}

TEST(out_of_memory, a_spawn_on_a_worker_whose_deque_cannot_grow_fails_that_task) {
  with_watchdog("spawn on a worker under allocation failure", [] {
    cohort::scheduler s({.workers = 1, .name = "oom"});
    std::atomic<int> ran{0};
    auto [t] = cohort::gather(s, [&] {
      cohort::task_group g;
      std::vector<cohort::task<void>> tasks;
      tasks.reserve(1000);
      {
        allocation_failures failing;  // on this worker: its deque holds 256 before growing
        for (int i = 0; i < 1000; ++i) tasks.push_back(g.spawn([&] { ran.fetch_add(1); }));
      }
      expect_join_reports_bad_alloc(g);
      return count(tasks);
    });
    EXPECT_GE(t.failed, 1u);
    EXPECT_EQ(t.failed, t.bad_allocs);
    EXPECT_EQ(t.succeeded + t.failed + t.cancelled, 1000u);
    EXPECT_EQ(static_cast<std::size_t>(ran.load()), t.succeeded);
  });
}

TEST(out_of_memory, a_child_that_cannot_wait_its_turn_under_max_concurrency_fails) {
  with_watchdog("max_concurrency under allocation failure", [] {
    cohort::scheduler s({.workers = 2, .name = "oom"});
    gate hold;
    std::atomic<int> ran{0};
    cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going,
                             .max_concurrency = 1,
                             .name = "limited"});
    std::atomic<int> inside{0};
    std::atomic<int> peak{0};
    auto one_at_a_time = [&] {
      cohort_test::atomic_max(peak, inside.fetch_add(1) + 1);
      std::this_thread::yield();
      inside.fetch_sub(1);
    };
    std::vector<cohort::task<void>> tasks;
    tasks.reserve(201);
    tasks.push_back(g.spawn([&] {
      one_at_a_time();
      hold.wait();
      one_at_a_time();
    }));
    {
      allocation_failures failing;  // the waiting list's storage cannot pass 64 entries
      for (int i = 0; i < 200; ++i) {
        tasks.push_back(g.spawn([&] {
          one_at_a_time();
          ran.fetch_add(1);
        }));
      }
    }
    hold.open();
    expect_join_reports_bad_alloc(g);
    const tally t = count(tasks);
    EXPECT_GE(t.failed, 1u);
    EXPECT_EQ(t.failed, t.bad_allocs);
    EXPECT_EQ(t.cancelled, 0u);  // keep_going: the others all ran, one at a time
    EXPECT_EQ(static_cast<std::size_t>(ran.load()) + 1, t.succeeded);
    EXPECT_EQ(peak.load(), 1) << "a failed child's slot started a second one over the limit";
  });
}

TEST(out_of_memory, gather_runs_a_fork_it_cannot_queue_inline_and_returns_every_result) {
  with_watchdog("gather under allocation failure", [] {
    cohort::scheduler s({.workers = 1, .name = "oom"});
    auto [ok] = cohort::gather(s, [&] {
      // Fill this worker's deque to its capacity so the next push must grow it.
      cohort::task_group g;
      std::vector<cohort::task<void>> filler;
      filler.reserve(256);
      for (int i = 0; i < 256; ++i) filler.push_back(g.spawn([] {}));
      bool results_right = false;
#ifdef COHORT_TEST_NO_STD_VIEWS
      std::vector<int> hundred(100);
      for (int i = 0; i < 100; ++i) hundred[i] = i;
#endif
      {
        allocation_failures failing;
        auto [a, b, c] = cohort::gather([] { return 1; }, [] { return 2; }, [] { return 3; });
        // 100 results: their vector (400 bytes) is allowed, the deque's growth is not.
#ifdef COHORT_TEST_NO_STD_VIEWS
        // clang 14 + libstdc++ 12 have no usable std::views (test_support.hpp).
        std::vector<int> squares = cohort::gather(hundred, [](int i) { return i * i; });
#else
        std::vector<int> squares =
            cohort::gather(std::views::iota(0, 100), [](int i) { return i * i; });
#endif
        results_right = a + b + c == 6 && squares.size() == 100 && squares[99] == 99 * 99;
      }
      g.join();
      return results_right;
    });
    EXPECT_TRUE(ok);
  });
}

// Spawns `n` children from this thread, keeps the handles until after the join, then drops
// them here: their blocks end in this thread's free list, which spills into the reserve.
void burst(cohort::scheduler& s, int n) {
  cohort::task_group g(s);
  std::vector<cohort::task<int>> handles;
  handles.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) handles.push_back(g.spawn([i] { return i; }));
  g.join();
  long sum = 0;
  for (auto& h : handles) sum += h.get();
  EXPECT_EQ(sum, static_cast<long>(n) * (n - 1) / 2);
}

std::size_t frees_during(void (*f)()) {
  const std::size_t before = frees.load();
  f();
  return frees.load() - before;
}

TEST(cached_memory, release_gives_the_reserve_back_and_it_fills_again_after_the_next_burst) {
  cohort::scheduler s({.workers = 2, .name = "mem"});
  constexpr int n = 20'000;
  burst(s, n);
  cohort::release_cached_memory();  // start from nothing kept
  burst(s, n);
  // Nearly every block of the burst was freed here and kept for reuse; now it goes back.
  EXPECT_GE(frees_during(&cohort::release_cached_memory), static_cast<std::size_t>(n) * 9 / 10);
  EXPECT_LT(frees_during(&cohort::release_cached_memory), 100u);  // nothing is freed twice
  // The reserve's accounting starts over: the next burst is kept again, not refused.
  burst(s, n);
  EXPECT_GE(frees_during(&cohort::release_cached_memory), static_cast<std::size_t>(n) * 9 / 10);
}

TEST(cached_memory, release_leaves_live_children_alone) {
  cohort::scheduler s({.workers = 2, .name = "mem"});
  burst(s, 5'000);
  gate hold;
  cohort::task_group live(s);
  auto pending = live.spawn([&] {
    hold.wait();
    return std::string(100, 'x');  // a result that owns memory
  });
  cohort::release_cached_memory();
  burst(s, 5'000);  // blocks come from the system allocator again
  hold.open();
  EXPECT_EQ(pending.get(), std::string(100, 'x'));
  live.join();
}

}  // namespace
