// SPDX-License-Identifier: Apache-2.0
// For a callable that takes a std::stop_token: a stop_source that fires when the task's
// cancel node (or any ancestor) is cancelled, for as long as the scope lives.
#pragma once

#include <cohort/export.hpp>

#include <cohort/detail/cancel_node.hpp>

#include <stop_token>
#include <type_traits>
#include <utility>

namespace cohort::detail {

struct stop_registration;

class COHORT_EXPORT stop_scope {
 public:
  explicit stop_scope(const cancel_node* node);
  ~stop_scope();
  stop_scope(const stop_scope&) = delete;
  stop_scope& operator=(const stop_scope&) = delete;
  std::stop_token token() const noexcept;

 private:
  stop_registration* reg_;
};

template <class F>
inline constexpr bool takes_stop_token = std::is_invocable_v<F&, std::stop_token>;

template <class F>
using call_result_t =
    typename std::conditional_t<takes_stop_token<F>, std::invoke_result<F&, std::stop_token>,
                                std::invoke_result<F&>>::type;

// Calls f() or f(token) as the callable asks, building a token only when it is asked for.
template <class F>
decltype(auto) invoke_task(F& f, const cancel_node* node) {
  if constexpr (takes_stop_token<F>) {
    stop_scope scope(node);
    return f(scope.token());
  } else {
    (void)node;
    return f();
  }
}

}  // namespace cohort::detail
