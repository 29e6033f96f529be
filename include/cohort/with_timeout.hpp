// SPDX-License-Identifier: Apache-2.0
// with_timeout and race: deadlines and first-success, built on task_group.
//
// with_timeout(d, f): runs f as a child; if it has not finished when d passes, cancels
// it, waits for it to end (it never outlives the call) and throws timeout_error. If f
// fails, rethrows f's own exception; if f returns in time, returns its value.
// race(f1, f2, ...): the first callable to succeed wins; the others are cancelled and
// waited for. If all fail, throws task_group_error with every failure (argument order).
// Both throw task_cancelled when an enclosing scope is cancelled.
// Example:
//   auto page = cohort::with_timeout(2s, [&](std::stop_token st) { return fetch(url, st); });
//   auto reply = cohort::race([&] { return ask(primary); }, [&] { return ask(backup); });
#pragma once

#include <cohort/export.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cohort/detail/failure.hpp>
#include <cohort/detail/fork_join.hpp>
#include <cohort/scheduler.hpp>
#include <cohort/task_group.hpp>

namespace cohort {
namespace detail {

template <class F>
auto with_timeout_on(scheduler& s, std::chrono::nanoseconds d, F&& f) {
  using R = detail::child_return_t<F>;
  /// A deadline that passed already: f never starts (asyncio's timeout(0)).
  if (d.count() <= 0) throw timeout_error();
  task_group g(s, group_options{.name = "with_timeout"});
  g.cancel_after(d);
  auto t = g.spawn(std::forward<F>(f));
  try {
    g.join();
  } catch (const task_group_error& e) {
    std::rethrow_exception(e.exceptions().front());  // f's own exception
  }
  if constexpr (std::is_void_v<R>) {
    std::move(t).get();
  } else {
    return std::move(t).get();
  }
}

template <class... Fs>
auto race_on(scheduler& s, Fs&... fs) {
  using R = std::common_type_t<call_result_t<Fs>...>;
  using Stored = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  constexpr std::size_t n = sizeof...(Fs);
  std::array<std::exception_ptr, n> errors{};
  std::optional<Stored> result;
  std::atomic<bool> won{false};
  {
    task_group g(s, group_options{.on_failure = failure_policy::keep_going, .name = "race"});
    std::size_t next = 0;
    auto launch = [&](auto& f) {
      const std::size_t k = next++;
      g.spawn([&, k] {
        std::exception_ptr e;
        const run_outcome r = run_capturing(
            [&] {
              if constexpr (std::is_void_v<R>) {
                invoke_task(f, current_node);
                if (!won.exchange(true, std::memory_order_acq_rel)) {
                  result.emplace();
                  g.cancel();
                }
              } else {
                Stored v(invoke_task(f, current_node));
                if (!won.exchange(true, std::memory_order_acq_rel)) {
                  result.emplace(std::move(v));
                  g.cancel();
                }
              }
            },
            e);
        // A contender's failure is kept here (the group keeps going); a cancellation goes
        // on to the group as the child's own end.
        if (r == run_outcome::cancelled) std::rethrow_exception(std::move(e));
        if (r == run_outcome::failed) errors[k] = std::move(e);
      });
    };
    (launch(fs), ...);
    g.join();  // task_cancelled if an enclosing scope was cancelled
  }
  if (result) {
    if constexpr (std::is_void_v<R>) {
      return;
    } else {
      return std::move(*result);
    }
  }
  std::vector<std::exception_ptr> failed;
  for (auto& e : errors)
    if (e) failed.push_back(e);
  if (failed.empty()) throw task_cancelled();  // every contender observed a cancel
  throw_group_error(std::move(failed), n);
}

}  // namespace detail

/// Runs f() or f(std::stop_token) as a task and returns its result if it ends within d;
/// else cancels it, waits for it to end, and throws timeout_error. f's own exception
/// propagates. d <= 0 throws timeout_error without running f.
/// @code
/// int v = cohort::with_timeout(200ms, [](std::stop_token st) { return poll(st); });
/// @endcode
template <class Rep, class Period, class F>
auto with_timeout(std::chrono::duration<Rep, Period> d, F&& f) {
  return detail::with_timeout_on(detail::scheduler_of(detail::ambient_pool()),
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(d),
                                 std::forward<F>(f));
}
/// As with_timeout(d, f), on the scheduler s.
template <class Rep, class Period, class F>
auto with_timeout(scheduler& s, std::chrono::duration<Rep, Period> d, F&& f) {
  return detail::with_timeout_on(s, std::chrono::duration_cast<std::chrono::nanoseconds>(d),
                                 std::forward<F>(f));
}

/// Runs the callables concurrently; the first to return a value wins: the others are
/// cancelled and waited for, and its value is returned (the callables' results must have
/// a std::common_type). If every one failed, throws task_group_error with every failure
/// (argument order); task_cancelled when an enclosing scope is cancelled.
/// @code
/// auto reply = cohort::race([&] { return ask(primary); }, [&] { return ask(backup); });
/// @endcode
template <class... Fs>
requires(sizeof...(Fs) > 0 && detail::all_nullary_tasks<Fs...>) auto race(Fs&&... fs) {
  return detail::race_on(detail::scheduler_of(detail::ambient_pool()), fs...);
}
/// As race(fs...), on the scheduler s.
template <class... Fs>
requires(sizeof...(Fs) > 0 && detail::all_nullary_tasks<Fs...>) auto race(scheduler& s,
                                                                          Fs&&... fs) {
  return detail::race_on(s, fs...);
}

}  // namespace cohort
