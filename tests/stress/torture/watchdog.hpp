// SPDX-License-Identifier: Apache-2.0
// The torture test's watchdog: one thread for the whole run. Each program arms it with a
// time limit and a description (the seed, the program, every scheduler's dump()); if the
// program has not disarmed it in time, the watchdog prints the description and aborts, so a
// hang fails with a reproducible report instead of running into the CTest timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace torture {

class watchdog {
 public:
  watchdog() : thread_([this] { main(); }) {}
  ~watchdog() {
    {
      std::lock_guard lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  // `describe` runs on the watchdog thread while the program is stuck; it may read the
  // program's schedulers, so the program must call set_description({}) (under which the
  // report omits them) before it destroys them.
  void arm(std::chrono::milliseconds limit, std::function<std::string()> describe) {
    {
      std::lock_guard lock(m_);
      deadline_ = std::chrono::steady_clock::now() + limit;
      limit_ = limit;
      describe_ = std::move(describe);
      armed_ = true;
    }
    cv_.notify_all();
  }
  void set_description(std::function<std::string()> describe) {
    std::lock_guard lock(m_);
    describe_ = std::move(describe);
  }
  void disarm() {
    std::lock_guard lock(m_);
    armed_ = false;
    describe_ = {};
  }

 private:
  void main() {
    std::unique_lock lock(m_);
    while (!stop_) {
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      if (cv_.wait_until(lock, deadline_) == std::cv_status::timeout && armed_ &&
          std::chrono::steady_clock::now() >= deadline_) {
        const std::string report = describe_ ? describe_() : std::string("(no description)");
        std::fprintf(stderr,
                     "TORTURE WATCHDOG: the program did not end within %lld ms: a hang.\n%s\n",
                     static_cast<long long>(limit_.count()), report.c_str());
        std::fflush(stderr);
        std::abort();
      }
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool armed_ = false;
  std::chrono::steady_clock::time_point deadline_{};
  std::chrono::milliseconds limit_{0};
  std::function<std::string()> describe_;
  std::thread thread_;  // last: starts after the fields it reads
};

}  // namespace torture
