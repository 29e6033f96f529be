// SPDX-License-Identifier: Apache-2.0
// Built against an installed cohort through find_package(cohort COMPONENTS mpi) and
// cohort::mpi, without naming MPI itself; run under the MPI launcher with 2 ranks.
#include <cohort/cohort.hpp>
#include <cohort/mpi.hpp>

#include <cstdio>
#include <stdexcept>

int main(int argc, char** argv) {
  cohort::mpi::environment env(argc, argv);
  const auto squares = cohort::mpi::gather(1000, [](std::size_t i) { return long(i) * long(i); });
  if (squares[999] != 998001) return 1;
  try {
    cohort::mpi::for_each(100, [](std::size_t i) {
      if (i == 7) throw std::runtime_error("seven");
    });
    return 1;
  } catch (const cohort::task_group_error& e) {
    if (e.exceptions().size() != 1) return 1;
  }
  if (cohort::mpi::rank() == 0)
    std::printf("cohort::mpi package consumer: ok (%d ranks)\n", cohort::mpi::size());
  return 0;
}
