// SPDX-License-Identifier: Apache-2.0
// Job output to cohort-run's stdout and stderr: one job's output is written in one piece
// (its stdout, then its stderr), never interleaved with another job's. With -k it is
// written in input order; finished output waiting for an earlier job is held in memory up
// to a budget, then in one shared temporary file. --tag prefixes every line.
#pragma once

#include <cstddef>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "spool.hpp"

namespace cohort_run {

struct job_output {
  std::size_t seq = 0;
  std::string tag;  // the job's input, for --tag
  spool out, err;
};

class output_writer {
 public:
  output_writer(bool keep_order, bool tag, std::size_t hold_budget = 64u << 20);
  ~output_writer();
  output_writer(const output_writer&) = delete;
  output_writer& operator=(const output_writer&) = delete;

  // A job's whole output, from any thread.
  void finished(job_output output);
  // -k: `seq` will have no output (skipped by --resume); later jobs need not wait for it.
  void passed_over(std::size_t seq);
  // --line-buffer: complete lines of one job, written now.
  void lines(const std::string& tag, std::string_view text, bool to_stderr);
  // Writes whatever is still held back, in order (jobs that never ran leave gaps).
  void flush_held();

 private:
  struct held_output {
    std::string tag;
    bool in_memory = true;
    job_output output;  // when in_memory
    long offset = 0;    // else: out then err in spill_file_
    std::size_t out_bytes = 0, err_bytes = 0;
    bool passed_over = false;
  };
  void write_now(const std::string& tag, const spool& out, const spool& err);
  void write_held(held_output& h);
  void release_ready();  // writes the held outputs that are next in order
  void write_text(int fd, const std::string& tag, std::string_view text, bool& at_line_start);

  std::mutex mutex_;
  bool keep_order_, tag_;
  std::size_t hold_budget_;
  std::size_t held_bytes_ = 0;
  std::size_t next_seq_ = 1;
  std::map<std::size_t, held_output> held_;
  std::FILE* spill_file_ = nullptr;
  std::string buffer_;  // batches small writes into one write(2)
};

// write(2) until done; a closed pipe (EPIPE) is ignored so cohort-run still reaps its jobs.
void write_all(int fd, std::string_view data);

}  // namespace cohort_run
