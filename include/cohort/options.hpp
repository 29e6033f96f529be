// Options and enums shared by the scheduler, groups and tasks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace cohort {

struct scheduler_options {
  std::size_t workers = 0;      // 0: std::thread::hardware_concurrency()
  std::string name = "cohort";  // thread-name prefix: threads are named <name>-<index>
};

enum class failure_policy { cancel_siblings, keep_going };

struct group_options {
  failure_policy on_failure = failure_policy::cancel_siblings;
  std::size_t max_concurrency = 0;  // 0: unbounded; else at most N children run at once
  std::string name;
};

struct task_options {
  std::string name;
  // This child alone: when it passes, the child is cancelled (its stop token requested;
  // not started yet: never called); unless it ended otherwise (a value before the
  // deadline, or its own exception), it ends failed with timeout_error, which join()
  // reports. Zero or negative: the deadline passed already.
  std::optional<std::chrono::nanoseconds> timeout;
};

enum class task_status : std::uint8_t { pending, running, succeeded, failed, cancelled };

}  // namespace cohort
