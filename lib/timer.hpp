// SPDX-License-Identifier: Apache-2.0
// Deadlines: one timer thread per scheduler, started on first use, sleeping on a
// condition variable until the earliest deadline. No thread per deadline.
//
// cancel(id) guarantees that when it returns the callback is not running and never will,
// so the callback may point into the object that cancels it (a group's destructor).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace cohort::detail {

class timer_service {
 public:
  using clock = std::chrono::steady_clock;
  using callback = void (*)(void*) noexcept;

  timer_service();
  ~timer_service();
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  // Returns a non-zero id.
  std::uint64_t schedule(clock::time_point when, callback fn, void* arg);
  void cancel(std::uint64_t id) noexcept;

 private:
  struct entry {
    callback fn;
    void* arg;
  };
  void main();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::condition_variable finished_;  // a callback in flight has returned
  std::map<std::pair<clock::time_point, std::uint64_t>, entry> queue_;
  std::map<std::uint64_t, clock::time_point> when_;
  std::uint64_t next_id_ = 1;
  std::uint64_t running_ = 0;  // id of the callback in flight, 0 if none
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cohort::detail
