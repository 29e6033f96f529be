// SPDX-License-Identifier: Apache-2.0
// Jobs submitted by threads outside the pool (spawn from main, spawn_detached, timers).
//
// Multi-producer, multi-consumer, behind one spin lock (spin_lock.hpp says why not a
// std::mutex): submissions from outside are rarer and coarser than the fork-join traffic
// on the deques, and a worker that finds this queue non-empty takes a batch into its own
// deque, where its peers can steal from it.
// `size_` lets idle workers look without taking the lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>

#include <cohort/detail/job.hpp>

#include "spin_lock.hpp"

namespace cohort::detail {

class injection_queue {
 public:
  void push(job* j);
  // Takes up to `max` jobs (oldest first); returns how many.
  std::size_t pop_batch(job** out, std::size_t max);
  // seq_cst: an idle worker's last look before sleeping (see sleep.hpp).
  bool looks_empty() const noexcept { return size_.load(std::memory_order_seq_cst) == 0; }
  std::size_t size_hint() const noexcept { return size_.load(std::memory_order_relaxed); }

 private:
  spin_lock mutex_;
  std::deque<job*> jobs_;  // guarded by mutex_
  std::atomic<std::size_t> size_{0};
};

}  // namespace cohort::detail
