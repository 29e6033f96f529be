// SPDX-License-Identifier: Apache-2.0
// GNU parallel's joblog: a header, then one tab-separated line per finished job
//   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
// (Host ":" for the local machine, the rank's host name under --mpi, times in seconds with 3
// decimals, Receive the bytes of stdout). GNU parallel's --resume reads ours and cohort-run's
// --resume reads GNU's.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace cohort_run {

struct joblog_entry {
  std::size_t seq = 0;
  double start_epoch_s = 0;
  double runtime_s = 0;
  std::size_t received = 0;
  int exit_value = 0;  // -1 when killed (timeout)
  int signal = 0;
  std::string command;
  std::string host = ":";  // ":" is GNU's "this machine"; under --mpi the rank's host name
};

class joblog_writer {
 public:
  // Appends to an existing log when resuming (the header is written only to a new one).
  joblog_writer(const std::string& path, bool append);
  ~joblog_writer();
  joblog_writer(const joblog_writer&) = delete;
  joblog_writer& operator=(const joblog_writer&) = delete;
  void write(const joblog_entry& e);  // not thread-safe: the caller serialises
  void flush();

 private:
  std::FILE* file_;
};

// What an existing joblog says about each sequence number.
class joblog_record {
 public:
  enum class state : unsigned char { absent, failed, succeeded };
  // A missing file reads as empty (the first run of a --resume command line).
  static joblog_record read(const std::string& path);
  state of(std::size_t seq) const { return seq < states_.size() ? states_[seq] : state::absent; }

 private:
  std::vector<state> states_;
};

}  // namespace cohort_run
