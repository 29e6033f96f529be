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

enum class wait_policy { all_completed, first_completed, first_exception };

struct wait_result {
  std::vector<std::size_t> done, pending;
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
// Waits until one of `children` completes and returns its position; throws timeout_error
// if `deadline` passes first.
COHORT_EXPORT std::size_t next_completed(
    std::span<child_base* const> children,
    std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace detail

template <class Tasks>
wait_result wait(Tasks&& tasks, wait_policy policy = wait_policy::all_completed,
                 std::optional<std::chrono::nanoseconds> timeout = {}) {
  const auto children = detail::children_of(tasks);
  return detail::wait_children(children, policy, timeout);
}

// The range returned by as_completed: single pass; each step waits for the next task.
// Over a range of tasks it yields references to them; over std::tie(...) it yields
// indices (the tasks have different types).
template <class Tasks>
class as_completed_range {
  static constexpr bool by_index = detail::is_tuple<std::remove_cvref_t<Tasks>>::value;

 public:
  as_completed_range(Tasks& tasks, std::optional<std::chrono::nanoseconds> timeout)
      : tasks_(by_index ? nullptr : std::addressof(tasks)), remaining_(detail::children_of(tasks)) {
    positions_.resize(remaining_.size());
    for (std::size_t i = 0; i < positions_.size(); ++i) positions_[i] = i;
    if (timeout) deadline_ = std::chrono::steady_clock::now() + *timeout;
  }

  class iterator {
   public:
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(as_completed_range* r) : r_(r) {}
    decltype(auto) operator*() const { return r_->current(); }
    iterator& operator++() {
      r_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return r_ == nullptr || r_->done_; }

   private:
    as_completed_range* r_ = nullptr;
  };

  iterator begin() {
    if (!started_) {
      started_ = true;
      advance();
    }
    return iterator(this);
  }
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

template <class Tasks>
requires(!detail::is_tuple<std::remove_cvref_t<Tasks>>::value) auto as_completed(
    Tasks& tasks, std::optional<std::chrono::nanoseconds> timeout = {}) {
  return as_completed_range<Tasks>(tasks, timeout);
}
template <class... Ts>
auto as_completed(std::tuple<Ts&...> tasks, std::optional<std::chrono::nanoseconds> timeout = {}) {
  return as_completed_range<std::tuple<Ts&...>>(tasks, timeout);
}

}  // namespace cohort
