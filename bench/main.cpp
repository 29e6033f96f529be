// SPDX-License-Identifier: Apache-2.0
// cohort_bench's entry point: Google Benchmark's main, plus context that makes a JSON
// result self-describing (library versions, worker counts run).
#include <benchmark/benchmark.h>

#include <omp.h>
#include <oneapi/tbb/version.h>

#include <string>

#include "common.hpp"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::string counts;
  for (int n : bench::worker_counts()) {
    if (!counts.empty()) counts.push_back(',');
    counts.append(std::to_string(n));
  }
  benchmark::AddCustomContext("cohort_version", COHORT_BENCH_VERSION);
  benchmark::AddCustomContext("tbb_version", TBB_runtime_version());
  benchmark::AddCustomContext("openmp_version", std::to_string(_OPENMP));
  benchmark::AddCustomContext("compiler", __VERSION__);
  benchmark::AddCustomContext("worker_counts", counts);

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
