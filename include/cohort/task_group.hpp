// SPDX-License-Identifier: Apache-2.0
// task_group: the nursery. Children spawned into a group never outlive it.
//
// Guarantees:
//  - join() and the destructor never return while a child runs.
//  - cancel_siblings (default): the first failure cancels the rest: unstarted children are
//    skipped (never called, callable destroyed, status cancelled), running ones see their
//    std::stop_token requested, groups nested in them are cancelled too.
//  - join() reports every failure, in spawn order, in one task_group_error; else throws
//    timeout_error if the group's own deadline fired; else task_cancelled if an enclosing
//    group or task was cancelled; else returns (also after this group's own cancel()).
//  - The destructor of a group nobody joined cancels the children, waits for them, and
//    hands failures nobody observed to the scheduler's unhandled-exception handler. It
//    never throws.
// Requirements: spawn from the owner, or from the group's own children while it is not
// joined. Waiting on a group from inside one of its own children is a std::logic_error.
// Example:
//   cohort::task_group g({.name = "fetch"});
//   for (auto& url : urls) g.spawn([&] { fetch(url); }, {.name = url});
//   g.join();  // throws task_group_error listing every failed fetch
// Memory ordering: everything the children did happens-before join() returns.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <cohort/detail/child.hpp>
#include <cohort/detail/runtime.hpp>
#include <cohort/options.hpp>
#include <cohort/task.hpp>

namespace cohort {

class scheduler;

/// task_group: the nursery. Children spawned into a group never outlive it.
///
/// Guarantees:
///  - join() and the destructor never return while a child runs.
///  - cancel_siblings (default): the first failure cancels the rest: unstarted children are
///    skipped (never called, callable destroyed, status cancelled), running ones see their
///    std::stop_token requested, groups nested in them are cancelled too.
///  - join() reports every failure, in spawn order, in one task_group_error; else throws
///    timeout_error if the group's own deadline fired; else task_cancelled if an enclosing
///    group or task was cancelled; else returns (also after this group's own cancel()).
///  - The destructor of a group nobody joined cancels the children, waits for them, and
///    hands failures nobody observed to the scheduler's unhandled-exception handler. It
///    never throws.
/// Requirements: spawn from the owner, or from the group's own children while it is not
/// joined. Waiting on a group from inside one of its own children is a std::logic_error.
/// Example:
/// @code
/// cohort::task_group g({.name = "fetch"});
/// for (auto& url : urls) g.spawn([&] { fetch(url); }, {.name = url});
/// g.join();  // throws task_group_error listing every failed fetch
/// @endcode
/// Memory ordering: everything the children did happens-before join() returns.
class task_group {
 public:
  /// On the ambient scheduler: the one running the current task, else the default one.
  explicit task_group(group_options options = {})
      : core_(detail::ambient_pool(), std::move(options)) {}
  /// On the scheduler s.
  explicit task_group(scheduler& s, group_options options = {})
      : core_(detail::pool_of(s), std::move(options)) {}
  /// Not joined: cancels the children, waits for them, hands unobserved failures to
  /// the scheduler's unhandled-exception handler. Never throws.
  ~task_group() { core_.abandon(); }
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  /// Spawns f() or f(std::stop_token) as a child. Throws std::logic_error once joined.
  template <class F>
  auto spawn(F&& f, task_options options = {}) {
    using R = detail::child_return_t<F>;
    core_.check_open();
    auto* c = detail::make_child(core_, std::forward<F>(f), std::move(options.name), true);
    if (options.timeout) core_.arm_child_timeout(c, *options.timeout);
    core_.submit(c);  // never throws after the block exists (see task_group.cpp)
    return task<R>(c);
  }

  /// Waits for every child (helping meanwhile), then reports: task_group_error with
  /// every failure in spawn order; else timeout_error (the group's deadline fired); else
  /// task_cancelled (an enclosing scope was cancelled); else returns. Once only; no spawn
  /// after it.
  void join() { core_.join(); }
  /// Cancels every child: unstarted ones are skipped, running ones see their stop
  /// token requested. join() then returns normally unless a child failed.
  void cancel() noexcept { core_.cancel(detail::end_reason::own_cancel); }
  /// A deadline for the whole group: when `delay` passes, the group is cancelled and
  /// join() throws timeout_error.
  template <class Rep, class Period>
  void cancel_after(std::chrono::duration<Rep, Period> delay) {
    core_.cancel_after(std::chrono::duration_cast<std::chrono::nanoseconds>(delay));
  }
  /// A token that is requested when this group is cancelled. Callables that take a
  /// std::stop_token get their own (it also fires for cancel() on their handle).
  std::stop_token stop_token() const {
    std::call_once(stop_once_, [this] { stop_ = std::make_unique<detail::stop_scope>(&core_); });
    return stop_->token();
  }
  /// True once the group (or an enclosing scope) was cancelled.
  bool cancelled() const noexcept { return core_.cancelled(); }

 private:
  detail::group_core core_;
  /// Built on the first stop_token() call only; declared after core_ so it unregisters
  /// before the group's node dies.
  mutable std::once_flag stop_once_;
  mutable std::unique_ptr<detail::stop_scope> stop_;
};

namespace detail {
template <class Body>
auto run_scope(task_group& g, Body& body) {
  using R = std::invoke_result_t<Body&, task_group&>;
  if constexpr (std::is_void_v<R>) {
    body(g);
    g.join();
  } else {
    R r = body(g);
    g.join();
    return r;
  }
}
}  // namespace detail

/// Runs body(group) with a new task_group on s, then joins it; returns what body returns.
/// If body throws, the children are cancelled and waited for, and body's exception
/// propagates. join()'s exceptions (task_group_error, ...) propagate as from join().
template <class Body>
auto scope(scheduler& s, Body&& body, group_options options = {}) {
  task_group g(s, std::move(options));
  return detail::run_scope(g, body);
}

/// As scope(s, body, options), on the ambient scheduler.
template <class Body>
auto scope(Body&& body, group_options options = {}) {
  task_group g(std::move(options));
  return detail::run_scope(g, body);
}

}  // namespace cohort
