// SPDX-License-Identifier: Apache-2.0
// outcome<T>: how one callable of gather_settled ended: a value, an exception, or
// cancelled. T may be void.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include <cohort/errors.hpp>

namespace cohort {

template <class T>
/// The result of one child in gather_settled: a value, an exception, or cancelled.
///
/// A plain value type (not synchronized): read it after gather_settled returned.
/// @code
/// auto [a, b] = cohort::gather_settled([] { return 1; }, [] { throw std::runtime_error("x"); });
/// assert(a.has_value() && b.failed());
/// @endcode
class outcome {
  using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  struct cancelled_tag {};

 public:
  /// A cancelled outcome.
  outcome() noexcept : v_(cancelled_tag{}) {}
  /// An outcome holding v.
  static outcome from_value(stored v) { return outcome(std::in_place_index<1>, std::move(v)); }
  /// An outcome holding the exception e.
  static outcome from_error(std::exception_ptr e) {
    return outcome(std::in_place_index<2>, std::move(e));
  }

  /// True when it holds a value.
  bool has_value() const noexcept { return v_.index() == 1; }
  /// True when the child was cancelled (or never ran).
  bool cancelled() const noexcept { return v_.index() == 0; }
  /// True when the child threw.
  bool failed() const noexcept { return v_.index() == 2; }
  /// has_value().
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; rethrows the exception, or throws task_cancelled.
  decltype(auto) value() & {
    check();
    if constexpr (!std::is_void_v<T>) return static_cast<T&>(std::get<1>(v_));
  }
  /// As value() &.
  decltype(auto) value() const& {
    check();
    if constexpr (!std::is_void_v<T>) return static_cast<const T&>(std::get<1>(v_));
  }
  /// As value() &, moving the value out.
  T value() && {
    check();
    if constexpr (!std::is_void_v<T>) return std::move(std::get<1>(v_));
  }
  /// The exception if it failed, else null.
  std::exception_ptr error() const noexcept { return failed() ? std::get<2>(v_) : nullptr; }

 private:
  template <std::size_t I, class U>
  outcome(std::in_place_index_t<I> i, U&& u) : v_(i, std::forward<U>(u)) {}
  void check() const {
    if (failed()) std::rethrow_exception(std::get<2>(v_));
    if (cancelled()) throw task_cancelled();
  }
  std::variant<cancelled_tag, stored, std::exception_ptr> v_;
};

}  // namespace cohort
