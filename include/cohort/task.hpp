// SPDX-License-Identifier: Apache-2.0
// task<R>: the move-only handle to one child of a task_group.
//
// Requirements: obtained from task_group::spawn; R may be void.
// Guarantees: dropping a handle never cancels or loses the child (the group still waits
// for it and reports its failure). The result stays readable after the group is joined
// and destroyed, for as long as the handle lives.
// Example:
//   cohort::task_group g;
//   auto t = g.spawn([] { return 42; });
//   g.join();
//   int v = t.get();
// Memory ordering: everything the child wrote before it ended happens-before get(),
// wait() or a done() that returns true.
// Use after move: every member but the destructor and valid() throws std::logic_error.
#pragma once

#include <chrono>
#include <exception>
#include <string_view>
#include <utility>

#include <cohort/detail/child.hpp>
#include <cohort/errors.hpp>
#include <cohort/options.hpp>

namespace cohort {

class task_group;

/// task<R>: the move-only handle to one child of a task_group.
///
/// Requirements: obtained from task_group::spawn; R may be void.
/// Guarantees: dropping a handle never cancels or loses the child (the group still waits
/// for it and reports its failure). The result stays readable after the group is joined
/// and destroyed, for as long as the handle lives.
/// Example:
/// @code
/// cohort::task_group g;
/// auto t = g.spawn([] { return 42; });
/// g.join();
/// int v = t.get();
/// @endcode
/// Memory ordering: everything the child wrote before it ended happens-before get(),
/// wait() or a done() that returns true.
/// Use after move: every member but the destructor and valid() throws std::logic_error.
template <class R>
class task {
 public:
  task() noexcept = default;
  /// Takes other's child; other becomes empty (valid() == false).
  task(task&& other) noexcept : c_(std::exchange(other.c_, nullptr)) {}
  /// Drops this handle's child (never cancels it), then takes other's.
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      c_ = std::exchange(other.c_, nullptr);
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  /// Waits, then returns the value, rethrows the child's own exception, or throws
  /// task_cancelled.
  decltype(auto) get() & {
    settle();
    if constexpr (!std::is_void_v<R>) return static_cast<R&>(c_->value);
  }
  /// As get() &, moving the value out.
  R get() && {
    settle();
    if constexpr (!std::is_void_v<R>) return std::move(c_->value);
  }

  /// Waits until the child ended (helping with other tasks meanwhile, on a worker).
  /// Never throws the child's exception; throws task_cancelled if the waiter is cancelled.
  void wait() { detail::child_wait(checked()); }
  /// Waits at most `timeout`; true when the child ended.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    return detail::child_wait_for(checked(),
                                  std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  /// True when the child ended (a value, an exception, or cancelled). Acquire: a true
  /// result makes everything the child wrote visible.
  bool done() const noexcept { return c_ != nullptr && detail::is_complete(c_->status); }
  /// Where the child is now (an empty handle reads cancelled).
  task_status status() const noexcept { return c_ ? c_->status_value() : task_status::cancelled; }
  /// Cancels this child only; its siblings are untouched.
  void cancel() { detail::child_cancel(checked()); }
  /// The child's exception if it failed, else null. Does not wait.
  std::exception_ptr exception() const {
    auto* c = checked();
    if (!detail::is_complete(c->status) || c->status_value() != task_status::failed) return {};
    c->observed.store(true, std::memory_order_relaxed);
    return c->error;
  }
  /// The name given in task_options (empty if none).
  std::string_view name() const {
    return checked()->name ? std::string_view(*c_->name) : std::string_view();
  }
  /// False for a default-constructed or moved-from handle.
  bool valid() const noexcept { return c_ != nullptr; }

  /// Internal: used by task_group::spawn and the combinators.
  explicit task(detail::child_result<R>* c) noexcept : c_(c) {}
  /// Internal: the child, for the combinators.
  detail::child_base* raw() const noexcept { return c_; }

 private:
  detail::child_result<R>* checked() const {
    if (c_ == nullptr) detail::throw_moved_from_task();
    return c_;
  }
  void settle() {
    auto* c = checked();
    detail::child_wait(c);
    switch (c->status_value()) {
      case task_status::succeeded:
        return;
      case task_status::failed:
        c->observed.store(true, std::memory_order_relaxed);
        std::rethrow_exception(c->error);
      default:
        throw task_cancelled();
    }
  }
  void reset() noexcept {
    if (c_) detail::child_drop_handle(std::exchange(c_, nullptr));
  }

  detail::child_result<R>* c_ = nullptr;
};

}  // namespace cohort
