// SPDX-License-Identifier: Apache-2.0
// The task-group workloads that bench/ab's programs share: fib via one group per level,
// fib via gather, and skynet (10 spawns per node).
#pragma once

#include <cohort/cohort.hpp>

#include <vector>

inline long fib_tg(int n) {
  if (n < 2) return n;
  cohort::task_group g;
  auto a = g.spawn([n] { return fib_tg(n - 1); });
  long b = fib_tg(n - 2);
  g.join();
  return a.get() + b;
}
inline long fib_ga(int n) {
  if (n < 2) return n;
  auto [x, y] = cohort::gather([n] { return fib_ga(n - 1); }, [n] { return fib_ga(n - 2); });
  return x + y;
}
inline long skynet_tg(long num, long size) {
  if (size == 1) return num;
  cohort::task_group g;
  std::vector<cohort::task<long>> t;
  t.reserve(10);
  for (long i = 0; i < 10; ++i)
    t.push_back(g.spawn([=] { return skynet_tg(num + i * (size / 10), size / 10); }));
  g.join();
  long s = 0;
  for (auto& x : t) s += x.get();
  return s;
}
