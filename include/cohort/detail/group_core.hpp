// SPDX-License-Identifier: Apache-2.0
// The non-template machinery of a task_group (defined in lib/task_group.cpp), and the
// header every child carries. Public only because task_group embeds it and the spawn
// templates construct children; users never touch it.
//
// A group counts its unfinished children with one atomic. The first failure under
// cancel_siblings cancels the group's node (one exchange decides who was first); every
// failed child is kept (by reference) so join() can report all of them in spawn order.
#pragma once

#include <cohort/export.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <cohort/detail/cancel_node.hpp>
#include <cohort/detail/completion.hpp>
#include <cohort/detail/job.hpp>
#include <cohort/options.hpp>

namespace cohort::detail {

class pool;
class group_core;
struct live_group_list;

enum class child_op : std::uint8_t { destroy_result, free_block };

// The header of every spawned child. The callable and the result follow it in the same
// block (child.hpp). Lifetime: a reference count of the handle (if any), the run (until
// the child ended) and the group (only for failed children, until join reports them).
struct COHORT_EXPORT child_base : job, cancel_node {
  using ops_fn = void (*)(child_base*, child_op) noexcept;

  child_base(group_core& g, const job_type* t, ops_fn o, bool with_handle) noexcept;

  group_core& group() const noexcept;
  task_status status_value() const noexcept {
    const std::uint8_t s = status.load(std::memory_order_acquire);
    if (s & done_bit) return static_cast<task_status>(s & value_mask);
    return started.load(std::memory_order_relaxed) ? task_status::running : task_status::pending;
  }

  completion_word status{0};  // final task_status | done_bit once it ended (completion.hpp)
  // Claimed by whoever runs the child: the worker that took its job, or a worker waiting
  // on it that runs it inline (child_wait). The loser of the exchange only drops the
  // queued job's reference.
  std::atomic<bool> started{false};
  bool run_inline = false;  // run by a waiter: the queued job still holds the run's reference
  // max_concurrency: waiting in the group's queue for a free slot; a waiter may not run
  // it inline then (that would exceed the limit). Cleared before it is submitted.
  std::atomic<bool> held{false};
  std::atomic<std::uint8_t> refs;
  std::atomic<bool> observed{false};  // get()/exception() saw the failure
  bool has_value = false;             // written by the run before completion, read after
  bool has_timeout = false;           // task_options::timeout: a timer may be armed
  std::uint32_t index = 0;            // spawn order within the group
  std::exception_ptr error;           // written by the run before completion
  std::unique_ptr<std::string> name;  // null when unnamed: unnamed tasks pay nothing
  ops_fn ops;
};

// A child runs under its own cancellation node (job_type::node).
inline const cancel_node* child_node(const job* j) noexcept {
  return static_cast<const child_base*>(j);
}

// Out-of-line steps of a child's run.
COHORT_EXPORT bool child_claim(child_base* c) noexcept;  // true for exactly one runner
// false: cancelled before it started (the runner already claimed the child).
COHORT_EXPORT void child_end(child_base* c) noexcept;  // final status, completion, bookkeeping
COHORT_EXPORT void child_release(child_base* c) noexcept;
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

enum class end_reason : std::uint8_t { none, own_cancel, failure, deadline };

class COHORT_EXPORT group_core : public scope_node {
 public:
  group_core(pool& p, group_options options, bool detached_root = false);
  ~group_core();
  group_core(const group_core&) = delete;
  group_core& operator=(const group_core&) = delete;

  pool& owner() const noexcept { return *pool_; }
  const std::string& name() const noexcept { return options_.name; }

  void check_open() const;  // throws std::logic_error once joined (inline, below)
  // task_options::timeout for a child not yet submitted.
  void arm_child_timeout(child_base* c, std::chrono::nanoseconds timeout) noexcept;
  [[noreturn]] void refuse_spawn() const;
  void submit(child_base* c);
  void child_ended() noexcept;
  bool limits_concurrency() const noexcept { return options_.max_concurrency != 0; }

  void join();
  void cancel(end_reason why) noexcept;
  void cancel_after(std::chrono::nanoseconds delay);
  bool cancel_requested() const noexcept { return requested(); }
  void wait_all() noexcept;
  // The destructor of a group nobody joined: cancel, wait, report failures to the handler.
  void abandon() noexcept;
  std::size_t unfinished() const noexcept {
    return static_cast<std::size_t>(counts_.load(std::memory_order_relaxed) & count_mask);
  }
  // When the group was made; the epoch when timing is off (no clock read per group).
  std::chrono::steady_clock::time_point created() const noexcept { return created_; }
  std::size_t spawned() const noexcept {
    return static_cast<std::size_t>((counts_.load(std::memory_order_relaxed) >> 32) & spawned_mask);
  }
  bool joining() const noexcept { return joining_.load(std::memory_order_relaxed); }
  // For diagnostics: the parking key a joiner sleeps on, and the failures so far.
  const void* join_key() const noexcept { return &counts_; }
  std::size_t failure_count() const;
  bool detached_root() const noexcept { return detached_root_; }

  // For the diagnostics walk (dump()).
  group_core* prev_live = nullptr;
  group_core* next_live = nullptr;
  live_group_list* live_list = nullptr;
  std::atomic<const void*> joiner{nullptr};  // the thread blocked in join (diagnostic)

 private:
  void release_slot() noexcept;  // max_concurrency: a child ended; start the next
  friend void child_end(child_base*) noexcept;
  friend class group_wait_target;
  void deadline_passed() noexcept;
  friend void on_group_deadline(void*) noexcept;
  void record_failure(child_base* c) noexcept;
  void report_unobserved() noexcept;
  // The kept failures in spawn order, and how many more could not be kept (out of memory).
  std::vector<child_base*> take_failures(std::size_t& unkept) noexcept;
  bool is_own_descendant_running() const noexcept;

  pool* pool_;
  group_options options_;
  bool detached_root_;
  std::chrono::steady_clock::time_point created_;
  // One word: children not yet ended (bits 0-31), children spawned so far (bits 32-62,
  // each child's spawn index), and `sleeper_bit` once a joiner sleeps on it. A spawn is
  // one fetch_add; the last child's decrement and a joiner's announcement are ordered by
  // the word itself; the parking-lot key is its address, which the last child may use
  // after the group is gone (the lot never dereferences a key).
  static constexpr std::uint64_t sleeper_bit = std::uint64_t{1} << 63;
  static constexpr std::uint64_t count_mask = 0xffffffffu;
  static constexpr std::uint64_t spawned_mask = 0x7fffffffu;
  static constexpr std::uint64_t one_spawn = (std::uint64_t{1} << 32) | 1;
  std::atomic<std::uint64_t> counts_{0};
  std::atomic<std::uint32_t> failure_count_{0};  // lets join skip the lock when none failed
  std::atomic<end_reason> reason_{end_reason::none};
  std::atomic<bool> joined_{false};
  std::atomic<bool> deadline_passed_{false};
  std::atomic<bool> joining_{false};
  // Written by the owner (cancel_after, join, destruction), read by spawns from children.
  std::atomic<std::uint64_t> deadline_timer_{0};
  // The deadline as steady-clock nanoseconds (0: none), for join() to check itself.
  std::atomic<std::int64_t> deadline_at_ns_{0};

  mutable std::mutex mutex_;           // guards the members below
  std::vector<child_base*> failures_;  // each holds a reference on its child
  std::size_t unkept_failures_ = 0;    // failures_ could not grow (out of memory)
  // max_concurrency: spawned, not yet submitted, oldest at queued_head_. A vector, not a
  // std::deque: libstdc++'s deque allocates on construction, which every group would pay.
  std::vector<child_base*> queued_;
  std::size_t queued_head_ = 0;
  std::size_t running_ = 0;  // max_concurrency: submitted, not yet ended
};

inline bool child_begin(child_base* c) noexcept {
  return !c->cancelled();
}

inline void group_core::check_open() const {
  if (joined_.load(std::memory_order_acquire) || spawned() >= spawned_mask - 1) refuse_spawn();
}

inline group_core& child_base::group() const noexcept {
  return *static_cast<group_core*>(static_cast<scope_node*>(up()));  // never cut
}

}  // namespace cohort::detail
