// SPDX-License-Identifier: Apache-2.0
// cohort::mpi's costs, measured under `mpirun -np N` (bench/mpi/README.md has the commands
// and the figures):
//   overhead  per-item cost of cohort::mpi::for_each on 10^5 empty items, against the same
//             loop run locally (serially, and as cohort::gather over the range on this
//             rank's scheduler), and the fixed cost of a call with one item
//   stop      time from an item's failure to every rank having returned
//   idle      CPU used by the progress thread (the calling thread) while every item sleeps
// Every rank runs the same fixed number of repetitions (Google Benchmark picks iteration
// counts per process, which would desynchronise the collectives); rank 0 prints medians.
#include <cohort/cohort.hpp>
#include <cohort/mpi.hpp>

#include <mpi.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mpi = cohort::mpi;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double all_max(double v) {
  double r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return r;
}
double all_min(double v) {
  double r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  return r;
}

// CPU time of the calling thread in ns resolution (schedstat's first field); getrusage's
// thread times advance by whole scheduler ticks, too coarse for a mostly sleeping thread.
double thread_cpu_seconds() {
  if (std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r")) {
    unsigned long long ns = 0;
    const int got = std::fscanf(f, "%llu", &ns);
    std::fclose(f);
    if (got == 1) return double(ns) / 1e9;
  }
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double now_s() {
  return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count();
}

void overhead(int reps) {
  constexpr std::size_t n = 100'000;
  std::vector<double> dist, one, serial, local;
  volatile std::size_t sink = 0;
  for (int r = 0; r < reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    auto t0 = clock_type::now();
    mpi::for_each(n, [&](std::size_t i) { sink = i; });  // an empty item (one store)
    dist.push_back(all_max(seconds_since(t0)));
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = clock_type::now();
    mpi::for_each(1, [&](std::size_t i) { sink = i; });
    one.push_back(all_max(seconds_since(t0)));
    t0 = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) sink = i;
    serial.push_back(seconds_since(t0));
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    t0 = clock_type::now();
    auto out = cohort::gather(idx, [&](std::size_t i) {
      sink = i;
      return char(0);
    });
    local.push_back(seconds_since(t0));
  }
  if (mpi::rank() == 0)
    std::printf(
        "overhead  np %d: for_each 10^5 empty items %.3f ms (%.1f ns/item); one-item call %.1f us; "
        "local serial loop %.1f ns/item; local cohort::gather(range) %.1f ns/item\n",
        mpi::size(), median(dist) * 1e3, median(dist) * 1e9 / n, median(one) * 1e6,
        median(serial) * 1e9 / n, median(local) * 1e9 / n);
}

void stop_latency(int reps) {
  std::vector<double> lat;
  for (int r = 0; r < reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    double failed_at = 1e300;
    try {
      mpi::for_each(64,
                    [&](std::size_t i, std::stop_token stop) {
                      if (i == 0) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(20));
                        failed_at = now_s();
                        throw std::runtime_error("stop");
                      }
                      while (!stop.stop_requested())
                        std::this_thread::sleep_for(std::chrono::microseconds(200));
                    },
                    {.chunk = 1});
    } catch (const cohort::task_group_error&) {
    }
    const double stopped = all_max(now_s());
    lat.push_back(stopped - all_min(failed_at));
  }
  if (mpi::rank() == 0)
    std::printf(
        "stop      np %d: failure to every rank returned: median %.2f ms, max %.2f ms (%d runs)\n",
        mpi::size(), median(lat) * 1e3, *std::max_element(lat.begin(), lat.end()) * 1e3, reps);
}

void idle_cpu(double seconds) {
  const std::size_t items =
      static_cast<std::size_t>(mpi::size()) * cohort::default_scheduler().workers();
  mpi::for_each(items, [](std::size_t) {});  // warm: connections and the communicator exist
  MPI_Barrier(MPI_COMM_WORLD);
  const double cpu0 = thread_cpu_seconds();
  const auto t0 = clock_type::now();
  mpi::for_each(
      items,
      [&](std::size_t) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); },
      {.chunk = 1});
  const double wall = seconds_since(t0);
  const double cpu = thread_cpu_seconds() - cpu0;
  const double worst = all_max(cpu / wall);
  if (mpi::rank() == 0)
    std::printf(
        "idle      np %d: progress thread CPU while every item sleeps %.1f s: %.2f ms per s of "
        "wall "
        "(%.3f%% of a core, worst rank)\n",
        mpi::size(), seconds, worst * 1e3, worst * 100);
}

}  // namespace

int main(int argc, char** argv) {
  mpi::environment env(argc, argv);
  std::string what = argc > 1 ? argv[1] : "all";
  const int reps = argc > 2 ? std::atoi(argv[2]) : 11;
  if (mpi::rank() == 0)
    std::printf("cohort::mpi bench: %d ranks, %zu workers per rank, %d repetitions\n", mpi::size(),
                cohort::default_scheduler().workers(), reps);
  if (what == "all" || what == "overhead") overhead(reps);
  if (what == "all" || what == "stop") stop_latency(reps);
  if (what == "all" || what == "idle") idle_cpu(3.0);
  return 0;
}
