// SPDX-License-Identifier: Apache-2.0
// wait and as_completed: asyncio.wait and asyncio.as_completed over task handles.
//
// wait(tasks, policy, timeout) returns which tasks are done and which are pending
// (indices into the input); it never cancels what is pending (asyncio.wait). `tasks` is
// a range of task<R>, or std::tie(t1, t2, ...) for tasks of different result types.
// as_completed(tasks[, timeout]) yields the tasks of a range in completion order (for a
// std::tie, their indices); with a timeout it throws timeout_error once the deadline
// passes before the next task completes.
// Example:
//   auto r = cohort::wait(tasks, cohort::wait_policy::first_completed, 100ms);
//   for (auto& t : cohort::as_completed(tasks)) use(t.get());
// Waiting on a task from inside that same task is a std::logic_error.
#pragma once

#include <cohort/export.hpp>

#include <chrono>
#include <cstddef>
#include <iterator>
#include <optional>
#include <ranges>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <cohort/detail/group_core.hpp>
#include <cohort/task.hpp>

namespace cohort {

/// When wait() returns: every task ended, the first one ended, or the first one failed
/// (else every task ended).
enum class wait_policy { all_completed, first_completed, first_exception };

/// What wait() returns: indices (into its argument) of the tasks that had ended and of
/// those still pending when it returned, each in ascending order.
struct wait_result {
  std::vector<std::size_t> done, pending;
  /// @var done
  /// The tasks that ended.
  /// @var pending
  /// The tasks still pending.
};

namespace detail {

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

template <class Tasks>
std::vector<child_base*> children_of(Tasks& tasks) {
  std::vector<child_base*> out;
  auto add = [&](const auto& t) {
    if (!t.valid()) throw_moved_from_task();
    out.push_back(t.raw());
  };
  if constexpr (is_tuple<std::remove_cvref_t<Tasks>>::value) {
    std::apply([&](auto&... t) { (add(t), ...); }, tasks);
  } else {
    for (auto& t : tasks) add(t);
  }
  return out;
}

COHORT_EXPORT wait_result wait_children(std::span<child_base* const> children, wait_policy policy,
                                        std::optional<std::chrono::nanoseconds> timeout);
/// Waits until one of `children` completes and returns its position; throws timeout_error
/// if `deadline` passes first.
COHORT_EXPORT std::size_t next_completed(
    std::span<child_base* const> children,
    std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace detail

/// Waits for tasks (a range of task<R>, or std::tie(t1, t2, ...)) per policy, at most
/// `timeout`; never throws a task's exception (read it from the task). Returns which
/// ended and which are pending. Thread safety: from any thread; the tasks' handles must
/// not be moved meanwhile. Acquire: what an ended task did is visible after it returns.
/// @code
/// auto r = cohort::wait(tasks, cohort::wait_policy::first_completed, 100ms);
/// @endcode
template <class Tasks>
wait_result wait(Tasks&& tasks, wait_policy policy = wait_policy::all_completed,
                 std::optional<std::chrono::nanoseconds> timeout = {}) {
  const auto children = detail::children_of(tasks);
  return detail::wait_children(children, policy, timeout);
}

/// The range returned by as_completed: single pass; each step waits for the next task.
/// Over a range of tasks it yields references to them; over std::tie(...) it yields
/// indices (the tasks have different types).
template <class Tasks>
class as_completed_range {
  static constexpr bool by_index = detail::is_tuple<std::remove_cvref_t<Tasks>>::value;

 public:
  /// Built by as_completed(); `tasks` must outlive the range.
  as_completed_range(Tasks& tasks, std::optional<std::chrono::nanoseconds> timeout)
      : tasks_(by_index ? nullptr : std::addressof(tasks)), remaining_(detail::children_of(tasks)) {
    positions_.resize(remaining_.size());
    for (std::size_t i = 0; i < positions_.size(); ++i) positions_[i] = i;
    if (timeout) deadline_ = std::chrono::steady_clock::now() + *timeout;
  }

  /// Input iterator: `*it` is the next task to end (or its index); `++it` waits for the
  /// one after. Past the timeout, ++ throws timeout_error.
  class iterator {
   public:
    /// Required by std::input_iterator.
    using difference_type = std::ptrdiff_t;
    /// A singular iterator (equal to the end).
    iterator() = default;
    /// Internal: from begin().
    explicit iterator(as_completed_range* r) : r_(r) {}
    /// The task that ended (a reference), or its index for std::tie(...).
    decltype(auto) operator*() const { return r_->current(); }
    /// Waits for the next task to end.
    iterator& operator++() {
      r_->advance();
      return *this;
    }
    /// As ++it (an input iterator's post-increment returns nothing).
    void operator++(int) { ++*this; }
    /// True when every task has been yielded.
    bool operator==(std::default_sentinel_t) const { return r_ == nullptr || r_->done_; }

   private:
    as_completed_range* r_ = nullptr;
  };

  /// Waits for the first task to end. Call once.
  iterator begin() {
    if (!started_) {
      started_ = true;
      advance();
    }
    return iterator(this);
  }
  /// The end sentinel.
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  decltype(auto) current() const {
    if constexpr (by_index) {
      return current_;
    } else {
      return *std::next(std::ranges::begin(*tasks_), static_cast<std::ptrdiff_t>(current_));
    }
  }
  void advance() {
    if (remaining_.empty()) {
      done_ = true;
      return;
    }
    const std::size_t k = detail::next_completed(remaining_, deadline_);
    current_ = positions_[k];
    remaining_[k] = remaining_.back();
    remaining_.pop_back();
    positions_[k] = positions_.back();
    positions_.pop_back();
  }

  Tasks* tasks_;
  std::vector<detail::child_base*> remaining_;
  std::vector<std::size_t> positions_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::size_t current_ = 0;
  bool started_ = false;
  bool done_ = false;
};

/// Yields the tasks of a range as they end, first ended first (single pass). With a
/// timeout, a step past the deadline throws timeout_error.
/// @code
/// for (auto& t : cohort::as_completed(tasks)) use(t.get());
/// @endcode
template <class Tasks>
requires(!detail::is_tuple<std::remove_cvref_t<Tasks>>::value) auto as_completed(
    Tasks& tasks, std::optional<std::chrono::nanoseconds> timeout = {}) {
  return as_completed_range<Tasks>(tasks, timeout);
}
/// As as_completed(tasks, timeout) over std::tie(t1, t2, ...): yields the indices.
template <class... Ts>
auto as_completed(std::tuple<Ts&...> tasks, std::optional<std::chrono::nanoseconds> timeout = {}) {
  return as_completed_range<std::tuple<Ts&...>>(tasks, timeout);
}

}  // namespace cohort
