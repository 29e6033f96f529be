// SPDX-License-Identifier: Apache-2.0
// cohort-run --mpi: the batch spread over the ranks of an MPI job (under mpirun -np N).
// Rank 0 reads the input and hands jobs out as they are read (cohort::mpi::item_stream);
// every rank runs up to -j of them; each job's record and captured output go back to
// rank 0, which writes the output (-k: in input order), the joblog and the report (in input
// order) and decides --halt; a halt, the --deadline or a signal stops every rank. Built only
// when cohort::mpi is (COHORT_RUN_WITH_MPI); see README.md here and lib/mpi/README.md.
#pragma once

#include "options.hpp"

namespace cohort_run {

// Runs the whole batch as one rank of the MPI job; returns this rank's exit status (rank
// 0: the same status a run without --mpi would have; other ranks: 0, or 255 on an error).
int run_batch_mpi(const run_options& options, int& argc, char**& argv);

}  // namespace cohort_run
