// SPDX-License-Identifier: Apache-2.0
// The header every spawned child carries (child_base), and the out-of-line steps of a
// child's run, defined in lib/task_group.cpp. The typed block around it (result slot and
// callable) is child.hpp; the group it belongs to is group_core.hpp.
#pragma once

#include <cohort/export.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include <cohort/detail/cancel_node.hpp>
#include <cohort/detail/completion.hpp>
#include <cohort/detail/job.hpp>
#include <cohort/options.hpp>

namespace cohort::detail {

class group_core;
class pool;

enum class child_op : std::uint8_t { destroy_result, free_block };

// Set in a child's status word (completion.hpp) once its handle is gone (or it never had
// one): see child_base's lifetime below.
inline constexpr std::uint8_t handle_gone_bit = 0x20;
static_assert((handle_gone_bit & (value_mask | done_bit | waiters_bit)) == 0);

// The header of every spawned child. The callable and the result follow it in the same
// block (child.hpp).
//
// Lifetime: the run and the handle own the block together, as one reference in `refs`;
// the status word says which of the two is still there. The run's end sets done_bit and
// the handle's release sets handle_gone_bit, each with one read-modify-write of the word
// it already writes (the run's completion) or reads (the handle's check), and whichever
// comes second drops the pair's reference. So a child whose handle outlives its run, the
// common case, costs no reference-count RMW at all. `refs` also counts the rare other
// owners: the group keeps a failed child until join reports it, and the queued job of a
// child a waiter ran inline stays on its deque until somebody pops it.
struct COHORT_EXPORT child_base : job, cancel_node {
  using ops_fn = void (*)(child_base*, child_op) noexcept;

  child_base(group_core& g, const job_type* t, ops_fn o, bool with_handle) noexcept;

  group_core& group() const noexcept;
  task_status status_value() const noexcept {
    const std::uint8_t s = status.load(std::memory_order_acquire);
    if (s & done_bit) return static_cast<task_status>(s & value_mask);
    return started.load(std::memory_order_relaxed) ? task_status::running : task_status::pending;
  }

  // final task_status | done_bit once it ended (completion.hpp), | handle_gone_bit.
  completion_word status;
  // Claimed by whoever runs the child: the worker that took its job, or a worker waiting
  // on it that runs it inline (child_wait). The loser of the exchange, the queued job's
  // popper, only drops the reference the waiter took for that job (child_run_inline).
  std::atomic<bool> started{false};
  // max_concurrency: waiting in the group's queue for a free slot; a waiter may not run
  // it inline then (that would exceed the limit). Cleared before it is submitted.
  std::atomic<bool> held{false};
  std::atomic<std::uint8_t> refs{1};  // the (run, handle) pair, plus the other owners above
  std::atomic<bool> observed{false};  // get()/exception() saw the failure
  bool has_value = false;             // written by the run before completion, read after
  bool has_timeout = false;           // task_options::timeout: a timer may be armed
  std::uint32_t index = 0;            // spawn order within the group
  std::exception_ptr error;           // written by the run before completion
  std::unique_ptr<std::string> name;  // null when unnamed: unnamed tasks pay nothing
  ops_fn ops;
  // Its group's pool. A thread waiting on the handle needs it (may it run the child
  // inline?) while the child may end and its group be destroyed: the group is not the
  // waiter's to read (child_run_inline), the child block is (the handle holds it).
  pool* owner_pool;
};

// A child runs under its own cancellation node (job_type::node).
inline const cancel_node* child_node(const job* j) noexcept {
  return static_cast<const child_base*>(j);
}

// Out-of-line steps of a child's run.
COHORT_EXPORT bool child_claim(child_base* c) noexcept;  // true for exactly one runner
// The claim of whoever took the child's job from a deque or queue (worker::execute): the
// same, without the exchange when no handle is left that a waiter could run it through.
COHORT_EXPORT bool child_claim_taken(child_base* c) noexcept;
// child_begin's answer for a child cancelled before it started: its callable is not
// called, and it ends as cancelled (child_end). The epoch never gets there.
inline constexpr std::uint64_t child_skipped = ~std::uint64_t{0};
// Whether the runner that claimed the child runs its callable: the cancel epoch read
// before the check if it does (child_end then checks again only if some cancel happened
// since: every cancel bumps the epoch, cancel_node.hpp), child_skipped if not. acquire:
// as in scope_node::ancestors_cancelled.
inline std::uint64_t child_begin(child_base* c) noexcept {
  const std::uint64_t epoch = cancel_epoch.load(std::memory_order_acquire);
  return c->cancelled() ? child_skipped : epoch;
}
// Final status, completion, bookkeeping; `begin`: what child_begin returned.
COHORT_EXPORT void child_end(child_base* c, std::uint64_t begin) noexcept;
COHORT_EXPORT void child_release(child_base* c) noexcept;  // drops one reference in `refs`
// The handle's release: a result that is already there is destroyed now, on the handle
// holder's thread, not later wherever the last reference happens to drop.
COHORT_EXPORT void child_drop_handle(child_base* c) noexcept;
COHORT_EXPORT void child_wait(child_base* c);  // help-while-wait; diagnoses waiting on oneself
// On a worker of the child's pool, claims a child nobody started and runs it here;
// false if it was started (or cannot be run inline).
COHORT_EXPORT bool child_run_inline(child_base* c);
COHORT_EXPORT bool child_wait_for(child_base* c, std::chrono::nanoseconds timeout);
COHORT_EXPORT void child_cancel(child_base* c) noexcept;
[[noreturn]] COHORT_EXPORT void throw_moved_from_task();

}  // namespace cohort::detail
