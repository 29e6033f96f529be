// SPDX-License-Identifier: Apache-2.0
// Options and enums shared by the scheduler, groups and tasks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace cohort {

/// How to build a scheduler: `scheduler({.workers = 8, .name = "render"})`.
struct scheduler_options {
  std::size_t workers = 0;  ///< 0: std::thread::hardware_concurrency()
  /// Thread-name prefix: threads are named name-index; also names the trace file
  /// (COHORT_TRACE=PATH writes PATH.name for any name but "cohort").
  std::string name = "cohort";
};

/// What a group does when a child fails.
enum class failure_policy { cancel_siblings, keep_going };

/// How to build a task_group: `task_group g(pool, {.max_concurrency = 4})`.
struct group_options {
  /// cancel_siblings (default): the first failure cancels the other children;
  /// keep_going: every child runs to its end.
  failure_policy on_failure = failure_policy::cancel_siblings;
  std::size_t max_concurrency = 0;  ///< 0: unbounded; else at most N children run at once
  std::string name{};               ///< in error messages, dumps and traces
};

/// Per-child options of spawn(): `g.spawn(f, {.name = "fetch-3"})`.
struct task_options {
  std::string name{};  ///< in task_group_error::what(), dumps and traces
  /// This child alone: when it passes, the child is cancelled (its stop token requested;
  /// not started yet: never called); unless it ended otherwise (a value before the
  /// deadline, or its own exception), it ends failed with timeout_error, which join()
  /// reports. Zero or negative: the deadline passed already.
  std::optional<std::chrono::nanoseconds> timeout{};
};

/// Where a task is: pending (not started), running, or how it ended.
enum class task_status : std::uint8_t { pending, running, succeeded, failed, cancelled };

}  // namespace cohort
