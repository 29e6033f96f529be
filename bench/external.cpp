// SPDX-License-Identifier: Apache-2.0
// external1m: one thread outside the pool (the benchmark thread) submits 10^6 tiny tasks
// (each bumps a relaxed counter) and waits until all have run: the injection path.
// items_per_second is the submission-to-completion throughput.
//
// cohort        scheduler::spawn_detached x 10^6; the last task to run wakes the submitter
// cohort_group  a task_group created outside the pool: spawn x 10^6 (handles dropped), join
// tbb           task_arena::enqueue x 10^6 into an arena of N worker slots (the submitter
//               takes no part); the last task to run wakes the submitter
//
// external8: 8 threads outside the pool at once (more submitters than cores) each spawn
// 10^6 / 8 tiny tasks and wait for them: what contention between submitters costs.
//
// cohort          each thread: a task_group of its own, spawn x 125000 (handles dropped), join
// cohort_detached each thread: scheduler::spawn_detached x 125000; the last task wakes all
// tbb             each thread: arena.execute(task_group run x 125000, wait) into one arena
//                 of N slots (a thread that finds no free slot waits for one, as TBB does)
#include <cohort/cohort.hpp>

#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common.hpp"

namespace {

constexpr long tasks = 1'000'000;

// Counts the tasks; the one that completes the count wakes the submitter.
struct countdown {
  std::atomic<long> ran{0};
  std::atomic<int> done{0};
  void reset() {
    ran.store(0, std::memory_order_relaxed);
    done.store(0, std::memory_order_relaxed);
  }
  void tick() {
    if (ran.fetch_add(1, std::memory_order_relaxed) + 1 == tasks) {
      done.store(1, std::memory_order_release);
      done.notify_one();
    }
  }
  void wait() { done.wait(0, std::memory_order_acquire); }
};

[[maybe_unused]] const bool registered = [] {
  const bench::run_options o{.min_time = 0.3};
  bench::add("external1m", "cohort", o, [](benchmark::State& st, int workers) {
    countdown c;  // declared before the scheduler: outlives every detached task
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      c.reset();
      for (long i = 0; i < tasks; ++i) s.spawn_detached([&c] { c.tick(); });
      c.wait();
      if (!bench::check(st, c.ran.load(), tasks)) break;
    }
    st.SetItemsProcessed(st.iterations() * tasks);
  });
  bench::add("external1m", "cohort_group", o, [](benchmark::State& st, int workers) {
    std::atomic<long> ran{0};
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      ran = 0;
      cohort::task_group g(s);
      for (long i = 0; i < tasks; ++i)
        g.spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
      g.join();
      if (!bench::check(st, ran.load(), tasks)) break;
    }
    st.SetItemsProcessed(st.iterations() * tasks);
  });
  bench::add("external1m", "tbb", o, [](benchmark::State& st, int workers) {
    // An arena does not wait for its tasks when destroyed, and the last task may still be
    // in notify_one after the submitter woke: the countdown outlives the function.
    static countdown c;
    bench::tbb_pool p(workers, bench::tbb_pool::caller::stays_out);
    for (auto _ : st) {
      c.reset();
      for (long i = 0; i < tasks; ++i) p.arena.enqueue([] { c.tick(); });
      c.wait();
      if (!bench::check(st, c.ran.load(), tasks)) break;
    }
    st.SetItemsProcessed(st.iterations() * tasks);
  });
  constexpr int submitters = 8;
  constexpr long per_submitter = tasks / submitters;
  // Starts `submitters` threads running body(k) and joins them.
  auto run_submitters = [](auto&& body) {
    std::vector<std::thread> threads;
    threads.reserve(submitters);
    for (int k = 0; k < submitters; ++k) threads.emplace_back([&body, k] { body(k); });
    for (auto& t : threads) t.join();
  };
  bench::add("external8", "cohort", o, [run_submitters](benchmark::State& st, int workers) {
    std::atomic<long> ran{0};
    cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
    for (auto _ : st) {
      ran = 0;
      run_submitters([&](int) {
        cohort::task_group g(s);
        for (long i = 0; i < per_submitter; ++i)
          g.spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
        g.join();
      });
      if (!bench::check(st, ran.load(), per_submitter * submitters)) break;
    }
    st.SetItemsProcessed(st.iterations() * per_submitter * submitters);
  });
  bench::add("external8", "cohort_detached", o,
             [run_submitters](benchmark::State& st, int workers) {
               countdown c;  // before the scheduler: outlives every detached task
               cohort::scheduler s({.workers = static_cast<std::size_t>(workers), .name = "bench"});
               for (auto _ : st) {
                 c.reset();
                 run_submitters([&](int) {
                   for (long i = 0; i < per_submitter; ++i) s.spawn_detached([&c] { c.tick(); });
                 });
                 c.wait();
                 if (!bench::check(st, c.ran.load(), tasks)) break;
               }
               st.SetItemsProcessed(st.iterations() * tasks);
             });
  bench::add("external8", "tbb", o, [run_submitters](benchmark::State& st, int workers) {
    std::atomic<long> ran{0};
    bench::tbb_pool p(workers, bench::tbb_pool::caller::stays_out);
    for (auto _ : st) {
      ran = 0;
      run_submitters([&](int) {
        p.arena.execute([&] {
          tbb::task_group g;
          for (long i = 0; i < per_submitter; ++i)
            g.run([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
          g.wait();
        });
      });
      if (!bench::check(st, ran.load(), per_submitter * submitters)) break;
    }
    st.SetItemsProcessed(st.iterations() * per_submitter * submitters);
  });
  return true;
}();

}  // namespace
