// SPDX-License-Identifier: Apache-2.0
// The non-template machinery of a task_group (defined in lib/task_group.cpp). Public
// only because task_group embeds it and the spawn templates construct children (whose
// header, child_base, is child_base.hpp); users never touch it.
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
#include <cohort/detail/child_base.hpp>
#include <cohort/detail/completion.hpp>
#include <cohort/detail/job.hpp>
#include <cohort/options.hpp>

namespace cohort::detail {

class pool;
struct live_group_list;
struct lib_access;  // lib/'s one door into the private members below (lib/lib_access.hpp)

enum class end_reason : std::uint8_t { none, own_cancel, failure, deadline };

class COHORT_EXPORT group_core : public scope_node {
 public:
  group_core(pool& p, group_options&& options, bool detached_root = false);
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

 private:
  friend struct lib_access;
  friend void child_end(child_base*, std::uint64_t) noexcept;
  void release_slot() noexcept;  // max_concurrency: a child ended; start the next
  void deadline_passed() noexcept;
  void cancel_deadline_timer() noexcept;
  void record_failure(child_base* c) noexcept;
  void report_unobserved() noexcept;
  // The kept failures in spawn order, and how many more could not be kept (out of memory).
  std::vector<child_base*> take_failures(std::size_t& unkept) noexcept;
  bool is_own_descendant_running() const noexcept;

  // The live-group list this group is on (where it was created: dump() walks it) and
  // its links there, guarded by that list's lock.
  live_group_list* live_list = nullptr;
  group_core* prev_live = nullptr;
  group_core* next_live = nullptr;

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

inline void group_core::check_open() const {
  if (joined_.load(std::memory_order_acquire) || spawned() >= spawned_mask - 1) refuse_spawn();
}

// Here, not in child_base.hpp: the cast needs group_core complete.
inline group_core& child_base::group() const noexcept {
  return *static_cast<group_core*>(static_cast<scope_node*>(up()));  // never cut
}

}  // namespace cohort::detail
