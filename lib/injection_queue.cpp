// SPDX-License-Identifier: Apache-2.0
#include "injection_queue.hpp"

#include <mutex>

namespace cohort::detail {

void injection_queue::push(job* j) {
  std::lock_guard lock(mutex_);
  jobs_.push_back(j);
  // seq_cst: the submitter's publication in the Dekker argument of sleep.hpp.
  size_.store(jobs_.size(), std::memory_order_seq_cst);
}

std::size_t injection_queue::pop_batch(job** out, std::size_t max) {
  if (size_.load(std::memory_order_relaxed) == 0) return 0;
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  while (n < max && !jobs_.empty()) {
    out[n++] = jobs_.front();
    jobs_.pop_front();
  }
  size_.store(jobs_.size(), std::memory_order_relaxed);
  return n;
}

}  // namespace cohort::detail
