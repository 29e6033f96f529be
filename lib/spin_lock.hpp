// SPDX-License-Identifier: Apache-2.0
// A test-and-test-and-set lock for critical sections of a few instructions (a list
// splice, a queue push or batch pop), where std::mutex's futex sleep on the first
// contention costs far more than the section: a submitter and the worker draining its
// queue hand such a lock back and forth, and with std::mutex each handoff became a pair
// of system calls (injection_queue: 10^6 external spawns took 2-3x longer).
//
// A waiter yields at once instead of spinning first: the holder is out within tens of
// nanoseconds unless it was preempted, and then only yielding helps. Measured on 2 cores
// with 3 threads (tools/bench.sh spawn1m|external1m), 64 pauses before the first yield
// were slower than none.
#pragma once

#include <atomic>
#include <thread>

namespace cohort::detail {

class spin_lock {
 public:
  void lock() noexcept {
    // acquire: pairs with unlock's release; the section sees the last holder's writes.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace cohort::detail
