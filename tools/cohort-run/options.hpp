// SPDX-License-Identifier: Apache-2.0
// cohort-run's command line: GNU parallel's options where they overlap, parsed with CLI11.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "halt_policy.hpp"

namespace cohort_run {

struct run_options {
  std::size_t jobs = 0;  // resolved: >= 1
  bool keep_order = false;
  bool line_buffer = false;
  bool tag = false;
  halt_policy halt;
  std::optional<std::chrono::nanoseconds> timeout;   // per job
  std::optional<std::chrono::nanoseconds> deadline;  // whole batch
  std::size_t retries = 1;                           // attempts in all
  std::string joblog;
  bool resume = false;
  bool resume_failed = false;
  std::string results_dir;
  bool bar = false;
  std::string report;
  bool dry_run = false;
  bool null_separated = false;
  bool mpi = false;  // --mpi: one rank of an MPI job (mpi_runner.hpp)
  std::chrono::nanoseconds term_grace = std::chrono::seconds(2);

  std::vector<std::string> command;  // words before the first ::: (empty: lines are commands)
  std::vector<std::vector<std::string>> sources;  // one per ::: / :::: (empty: stdin)
};

// Exit status for bad usage (GNU parallel's).
inline constexpr int usage_error_status = 255;

// Parses argv. On --help / --version prints and returns nullopt with exit_status 0; on bad
// usage prints "cohort-run: <option>: <why>" to stderr and returns nullopt with 255.
std::optional<run_options> parse_command_line(int argc, char** argv, int& exit_status);

}  // namespace cohort_run
