// SPDX-License-Identifier: Apache-2.0
// Is a 1-worker gap the library's code or the thread it runs on? At 1 worker cohort runs a
// loop on its worker thread while the benchmark thread blocks; oneTBB (an arena with the
// calling thread's slot) runs it on the calling thread. This program times the same
// serial std:: call (prefix sum and sum of 10^7 doubles) on the main thread, on a cohort
// worker (inside gather) and on a fresh std::thread, beside cohort's own algorithm at 1
// worker, interleaved, each the median of 15 calls. Build (one line):
//   g++ -std=c++20 -O3 -DNDEBUG -Iinclude -Ibuild/bench/include -DCOHORT_STATIC_DEFINE
//   bench/ab/thread_placement.cpp build/bench/libcohort.a -lpthread -o /tmp/placement
#include <algorithm>
#include <chrono>
#include <cohort/cohort.hpp>
#include <cstdio>
#include <functional>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>
using clk = std::chrono::steady_clock;
int main() {
  cohort::scheduler s({.workers = 1});
  const std::size_t n = 10'000'000;
  std::vector<double> v(n), out(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i % 1000);
  auto median_ms = [](auto f) {
    std::vector<double> x;
    for (int c = 0; c < 15; ++c) {
      const auto t0 = clk::now();
      f();
      x.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
    }
    std::sort(x.begin(), x.end());
    return x[7];
  };
  volatile double sink = 0;
  auto scan = [&] { std::inclusive_scan(v.begin(), v.end(), out.begin()); };
  auto sum = [&] { sink = std::reduce(v.begin(), v.end()); };
  for (int round = 0; round < 3; ++round) {
    const double cs =
        median_ms([&] { cohort::inclusive_scan(s, std::as_const(v), out.begin(), std::plus<>{}); });
    const double ws = median_ms([&] { cohort::gather(s, scan); });
    const double ms = median_ms(scan);
    const double ts = median_ms([&] { std::thread(scan).join(); });
    const double cr =
        median_ms([&] { sink = cohort::reduce(s, std::as_const(v), 0.0, std::plus<>{}); });
    const double wr = median_ms([&] { cohort::gather(s, sum); });
    const double mr = median_ms(sum);
    const double tr = median_ms([&] { std::thread(sum).join(); });
    std::printf(
        "scan: cohort %.2f, std on worker %.2f, on main %.2f, on new thread %.2f ms | "
        "sum: cohort %.2f, std on worker %.2f, on main %.2f, on new thread %.2f ms\n",
        cs, ws, ms, ts, cr, wr, mr, tr);
  }
}
