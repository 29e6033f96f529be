// SPDX-License-Identifier: Apache-2.0
// The narrow interface between the public templates and the compiled scheduler
// (include/cohort/detail/runtime.hpp), defined in one place. The exception is the
// fork-join fast path (push_local, pop_local_until): it lives in worker.cpp, beside
// worker::push and worker::pop_until, which inline into it there.
#include <cohort/detail/runtime.hpp>

#include <cohort/scheduler.hpp>

#include "lib_access.hpp"
#include "pool.hpp"
#include "worker.hpp"

namespace cohort::detail {

// ---- which pool -------------------------------------------------------------------------

pool& pool_of(scheduler& s) noexcept {
  return lib_access::pool_of(s);
}

pool& ambient_pool() {
  if (worker* w = current_worker) return w->owner();
  return lib_access::pool_of(default_scheduler());
}

scheduler& scheduler_of(pool& p) noexcept {
  return p.owner();
}

std::size_t pool_size(const pool& p) noexcept {
  return p.size();
}

bool on_pool(const pool& p) noexcept {
  return current_worker != nullptr && &current_worker->owner() == &p;
}

// ---- making a job runnable --------------------------------------------------------------

void submit(pool& p, job* j) {
  p.submit_here(j);
}

// ---- blocking outside cohort ------------------------------------------------------------

void* begin_blocking() noexcept {
  worker* w = current_worker;
  if (w != nullptr) w->enter_blocked();
  return w;
}
void end_blocking(void* token) noexcept {
  if (token != nullptr) static_cast<worker*>(token)->leave_blocked();
}

}  // namespace cohort::detail
