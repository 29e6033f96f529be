// SPDX-License-Identifier: Apache-2.0
// The exceptions cohort throws.
//
// task_group_error is the ExceptionGroup: every failure of a group's children, in spawn
// order. task_cancelled says a task or group ended because somebody cancelled it;
// timeout_error says a deadline passed.
#pragma once

#include <cohort/export.hpp>

#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cohort {

/// What join() (and gather, scope, race) throws when children failed: every failure,
/// in spawn order, in one exception.
///
/// Thread safety: an immutable value; copies share the list (cheap, noexcept).
class COHORT_EXPORT task_group_error : public std::exception {
 public:
  /// `names[i]` is the name of the task that threw `errors[i]` (may be empty; missing
  /// entries are empty). `unit` names what failed in what(): "task" for a group, "element"
  /// for a parallel loop ("2 of 1000000 elements failed; first: rows[17]: bad pixel").
  task_group_error(std::vector<std::exception_ptr> errors, std::vector<std::string> names,
                   std::size_t tasks_total, std::string_view unit = "task");
  /// The failures, in spawn order (for a loop: index order); never empty.
  std::span<const std::exception_ptr> exceptions() const noexcept;
  /// names()[i]: the task that threw exceptions()[i] ("" if unnamed); for a parallel loop
  /// "name[index]" (the loop's name, the index of the element that threw).
  std::span<const std::string> names() const noexcept;
  const char* what() const noexcept override;  ///< "2 of 5 tasks failed; first: fetch-3: reset"

 private:
  /// Shared so the exception stays cheap and noexcept to copy, as exceptions should be.
  std::shared_ptr<const std::vector<std::exception_ptr>> errors_;
  std::shared_ptr<const std::vector<std::string>> names_;
  std::shared_ptr<const std::string> what_;
};

/// Thrown by the result of a task when the task was cancelled before it produced one (skipped,
/// or its group cancelled), and out of a wait inside a cancelled task.
class COHORT_EXPORT task_cancelled : public std::exception {
 public:
  /// A fixed message naming the exception.
  const char* what() const noexcept override;
};

/// Thrown when a deadline passed: task_group::cancel_after(), task_options::timeout,
/// with_timeout().
class COHORT_EXPORT timeout_error : public std::exception {
 public:
  /// A fixed message naming the exception.
  const char* what() const noexcept override;
};

/// "what()" of a std::exception, or a description of anything else that was thrown.
COHORT_EXPORT std::string describe_exception(const std::exception_ptr& e);

}  // namespace cohort
