// SPDX-License-Identifier: Apache-2.0
// The per-worker Chase-Lev deque on its own (lib/deque.hpp), without a scheduler around
// it: the owner's push + pop, an uncontended steal, and steals racing a busy owner.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>

#include "deque.hpp"

namespace {

using deque = cohort::detail::chase_lev_deque<int*>;
using cohort::detail::steal_result;

int item = 0;

// One push and one pop by the owner: the fork-join fast path when nothing is stolen.
void push_pop(benchmark::State& st) {
  deque d;
  for (auto _ : st) {
    d.push(&item);
    int* x = nullptr;
    benchmark::DoNotOptimize(d.pop(x));
    benchmark::DoNotOptimize(x);
  }
  st.SetItemsProcessed(st.iterations());
}

// 256 pushes then 256 pops: a burst of spawns, then the joins in reverse.
void push_pop_burst(benchmark::State& st) {
  constexpr int burst = 256;
  deque d;
  for (auto _ : st) {
    for (int i = 0; i < burst; ++i) d.push(&item);
    int* x = nullptr;
    for (int i = 0; i < burst; ++i) benchmark::DoNotOptimize(d.pop(x));
  }
  st.SetItemsProcessed(st.iterations() * burst);
}

// A push by the owner and a steal by the same thread: a steal's own cost (fence + CAS),
// with the cache lines already local.
void steal_uncontended(benchmark::State& st) {
  deque d;
  for (auto _ : st) {
    d.push(&item);
    int* x = nullptr;
    benchmark::DoNotOptimize(d.steal(x));
  }
  st.SetItemsProcessed(st.iterations());
}

// Steals from a deque whose owner, on another thread, keeps pushing to keep it at 1024
// items: the cache lines bounce between the two. Each iteration is one successful steal;
// counter attempts_per_steal counts the tries it took (empty or lost races included).
void steal_contended(benchmark::State& st) {
  deque d;
  std::atomic<bool> stop{false};
  std::thread owner([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      if (d.size_hint() < 1024) d.push(&item);
    }
    int* x = nullptr;
    while (d.pop(x)) {
    }
  });
  while (d.size_hint() == 0) std::this_thread::yield();
  std::int64_t attempts = 0;
  for (auto _ : st) {
    int* x = nullptr;
    do {
      ++attempts;
    } while (d.steal(x) != steal_result::stolen);
    benchmark::DoNotOptimize(x);
  }
  stop.store(true, std::memory_order_relaxed);
  owner.join();
  st.counters["attempts_per_steal"] =
      static_cast<double>(attempts) /
      static_cast<double>(std::max<std::int64_t>(1, st.iterations()));
  st.SetItemsProcessed(st.iterations());
}

}  // namespace

BENCHMARK(push_pop)->Name("deque_push_pop/cohort");
BENCHMARK(push_pop_burst)->Name("deque_push_pop_burst/cohort");
BENCHMARK(steal_uncontended)->Name("deque_steal/cohort");
BENCHMARK(steal_contended)->Name("deque_steal_contended/cohort")->UseRealTime();
