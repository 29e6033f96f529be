// SPDX-License-Identifier: Apache-2.0
// The narrow interface between the public templates and the compiled scheduler, defined
// in lib/runtime.cpp (push_local and pop_local_until: in lib/worker.cpp, where the worker's
// push and pop inline into them). Everything here is an implementation detail; users
// never call it.
#pragma once

#include <cohort/export.hpp>

#include <chrono>
#include <cstddef>

#include <cohort/detail/job.hpp>

namespace cohort {
class scheduler;
}

namespace cohort::detail {

class pool;

COHORT_EXPORT pool& pool_of(scheduler& s) noexcept;
// The scheduler of the task running on this thread, else the default scheduler.
COHORT_EXPORT pool& ambient_pool();
COHORT_EXPORT scheduler& scheduler_of(pool& p) noexcept;

// True when the calling thread is a worker of `p`.
COHORT_EXPORT bool on_pool(const pool& p) noexcept;
// The number of workers of p.
COHORT_EXPORT std::size_t pool_size(const pool& p) noexcept;

// Makes `j` runnable on `p`: on the calling worker's own deque when the caller is one of
// p's workers, else through p's injection queue.
COHORT_EXPORT void submit(pool& p, job* j);

// Fork-join fast path, valid only on a worker: push `j` on the own deque; later, pop the
// own deque until `j` comes back (true: the caller runs it inline) or the deque is empty
// (false: a thief took it; the caller waits for its completion word). Jobs found above
// `j` (pushed and not joined by the code in between) are run on the way.
COHORT_EXPORT void push_local(job* j);
COHORT_EXPORT bool pop_local_until(job* j);

// The calling thread is about to block outside cohort (cohort::blocking(), a wait with
// nothing it may run). On a worker, a spare thread takes the worker's place in the pool
// until end_blocking, so the pool keeps its parallelism and no queued job is stranded.
// Elsewhere both are no-ops. Returns what end_blocking needs (null off the pool).
// Pairs must nest on one thread; end_blocking never throws.
COHORT_EXPORT void* begin_blocking() noexcept;
COHORT_EXPORT void end_blocking(void* token) noexcept;

}  // namespace cohort::detail
