// SPDX-License-Identifier: Apache-2.0
// The -j slots: who runs where ({%} is the slot number), since when, with which pid, and
// the last line each job wrote (for the watchdog). acquire() is the back-pressure that
// keeps input reading no more than -j jobs ahead of the running ones.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cohort_run {

class running_jobs {
 public:
  explicit running_jobs(std::size_t slots);

  // A free slot (1-based), waiting for one; 0 once close() was called.
  std::size_t acquire();
  void release(std::size_t slot);
  // Makes acquire() return 0 from now on (halt, deadline, signal).
  void close();
  bool closed() const;
  std::size_t running() const;

  void started(std::size_t slot, std::size_t seq, const std::string& command);
  void set_pid(std::size_t slot, int pid);
  void saw_output(std::size_t slot, std::string_view chunk);

  struct running_job {
    std::size_t slot, seq;
    std::string command;
    int pid;
    std::chrono::steady_clock::duration age;
    std::string last_line;
  };
  std::vector<running_job> snapshot() const;

 private:
  struct slot_state {
    bool busy = false;
    std::size_t seq = 0;
    std::string command;
    int pid = 0;
    std::chrono::steady_clock::time_point since{};
    std::string partial_line, last_line;
  };
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::size_t> free_;  // a stack: the lowest slot numbers are reused first
  std::vector<slot_state> slots_;
  std::size_t running_ = 0;
  bool closed_ = false;
};

}  // namespace cohort_run
