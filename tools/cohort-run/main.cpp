// SPDX-License-Identifier: Apache-2.0
// cohort-run: runs shell commands in parallel on a cohort scheduler. GNU parallel's
// options where they overlap; see `cohort-run --help` and the README's "Batch jobs".
#include "options.hpp"
#include "runner.hpp"
#ifdef COHORT_RUN_WITH_MPI
#include "mpi_runner.hpp"
#endif

int main(int argc, char** argv) {
  int status = 0;
  const auto options = cohort_run::parse_command_line(argc, argv, status);
  if (!options) return status;
#ifdef COHORT_RUN_WITH_MPI
  if (options->mpi) return cohort_run::run_batch_mpi(*options, argc, argv);
#endif
  return cohort_run::run_batch(*options);
}
