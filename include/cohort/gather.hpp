// SPDX-License-Identifier: Apache-2.0
// gather and gather_settled: run callables concurrently (or a callable over each element
// of a range, in parallel: the range is split like a parallel loop's) and collect their
// results in argument (input) order.
//
// gather: the first failure cancels the rest; every failure comes back, in argument
// order, in one task_group_error. (Over a range, cancellation is checked every 64
// elements: each piece running when the cancel arrives may start up to 64 more.) If an enclosing
// scope was cancelled, throws task_cancelled. Children live on the caller's frame: nothing is
// allocated, which makes gather the fast path for recursive fork-join (fib, quicksort).
// gather_settled: every callable runs to the end; each result is an outcome<R> in place
// (asyncio's return_exceptions=True, typed).
// Example:
//   auto [a, b] = cohort::gather([] { return fib(29); }, [] { return fib(28); });
//   std::vector<int> lens = cohort::gather(words, [](const std::string& w) { return w.size(); });
// Memory ordering: everything the children did happens-before gather returns.
#pragma once

#include <cohort/export.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cohort/detail/failure.hpp>
#include <cohort/detail/fork_join.hpp>
#include <cohort/detail/iterator_index.hpp>
#include <cohort/detail/range_split.hpp>
#include <cohort/errors.hpp>
#include <cohort/outcome.hpp>
#include <cohort/scheduler.hpp>

namespace cohort {
namespace detail {

template <class R>
concept gatherable_range = std::ranges::range<R> && !std::is_invocable_v<R&>;

template <bool Settled, class... Fs>
auto gather_here(Fs&... fs) {
  gather_frame frame(Settled);
  slots_for<Fs...> slots(frame, fs...);
  slots.apply([](auto&... s) { fork_join(s...); });
  if constexpr (Settled) {
    if (frame.ancestors_cancelled()) throw task_cancelled();
    return slots.apply([](auto&... s) {
      auto settle = [](auto& slot) {
        using V = typename std::remove_reference_t<decltype(slot)>::value_type;
        using O = outcome<std::conditional_t<std::is_same_v<V, std::monostate>, void, V>>;
        if (slot.failed()) return O::from_error(slot.error);
        if (slot.value) {
          if constexpr (std::is_same_v<V, std::monostate>)
            return O::from_value({});
          else
            return O::from_value(std::move(*slot.value));
        }
        return O();
      };
      return std::tuple{settle(s)...};
    });
  } else {
    const bool any_failed = slots.apply([](auto&... s) { return (... || s.failed()); });
    if (any_failed) {
      std::vector<std::exception_ptr> errors;
      slots.apply([&](auto&... s) { ((s.failed() ? errors.push_back(s.error) : void()), ...); });
      throw_group_error(std::move(errors), sizeof...(Fs));
    }
    /// A callable that threw task_cancelled observed a cancellation: so does the gather.
    const bool all_values = slots.apply([](auto&... s) { return (... && s.value.has_value()); });
    if (frame.cancelled() || !all_values) throw task_cancelled();
    return slots.apply([](auto&... s) { return std::tuple{std::move(*s.value)...}; });
  }
}

template <bool Settled, class... Fs>
auto gather_on(pool& p, Fs&... fs) {
  if (on_pool(p)) return gather_here<Settled>(fs...);
  return run_in_pool(p, [&] { return gather_here<Settled>(fs...); });
}

// ---- ranges --------------------------------------------------------------------------

// Runs body(lo, hi) over chunks covering [0, n), split across the pool by the shared
// range splitter (detail/range_split.hpp) with the loops' adaptive default: about
// log2(workers) cuts, more only where a thief took a piece (so a recursive range, nqueens
// or UTS, spreads where the tree is). body never throws. Cancellation is checked every
// cancel_check_stride elements.
// A piece runs its elements one after the other on one thread, as every loop does: an
// element must not wait on another element of the same range (the later one may be in the
// same piece, behind it). One job per element would allow it only for small ranges, and
// its forks cost skynet via gather(range) 3.4x at 1 worker (note of issue 13).
template <class Body>
void parallel_indices(pool& p, gather_frame& frame, std::size_t n, Body& body) {
  auto leaf = [&](std::size_t lo, std::size_t hi) {
    for_strides(frame, lo, hi, cancel_check_stride, body);
  };
  split_for(frame, n, splitter::adaptive(pool_size(p)), leaf);
}

// One bool per byte: never packed with its neighbours, unlike std::vector<bool>.
struct bool_slot {
  bool value = false;
};

template <class Range>
decltype(auto) random_access_view(Range& r) {
  if constexpr (std::ranges::random_access_range<Range&> && std::ranges::sized_range<Range&>) {
    return (r);
  } else if constexpr (std::ranges::forward_range<Range&>) {
    /// Visit a forward range through its iterators: elements are not copied.
    std::vector<std::ranges::iterator_t<Range&>> its;
    for (auto it = std::ranges::begin(r); it != std::ranges::end(r); ++it) its.push_back(it);
    return iterator_index(std::move(its));
  } else {
    /// A single-pass range (its end may be a sentinel): its elements are taken out once.
    std::vector<std::ranges::range_value_t<Range&>> values;
    for (auto it = std::ranges::begin(r); it != std::ranges::end(r); ++it) values.push_back(*it);
    return values;
  }
}

template <bool Settled, class Range, class Fn>
auto gather_range_here(pool& p, Range& range, Fn& fn) {
  auto&& ra = random_access_view(range);
  using Elem = decltype(*std::ranges::begin(ra));
  using R = std::invoke_result_t<Fn&, Elem>;
  const std::size_t n = static_cast<std::size_t>(std::ranges::size(ra));
  auto first = std::ranges::begin(ra);

  gather_frame frame(Settled);
  std::mutex failures_mutex;
  std::vector<std::pair<std::size_t, std::exception_ptr>> failures;
  std::atomic<bool> observed_cancel{false};  // an element threw task_cancelled

  if constexpr (Settled) {
    std::vector<outcome<R>> out(n);
    auto body = [&](std::size_t lo, std::size_t hi) noexcept {
      // One capture per element run: settled keeps going after a failure.
      for (std::size_t i = lo; i < hi; ++i) {
        std::exception_ptr e;
        const run_outcome r = run_capturing(
            [&] {
              if constexpr (std::is_void_v<R>) {
                fn(first[static_cast<std::ptrdiff_t>(i)]);
                out[i] = outcome<R>::from_value({});
              } else {
                out[i] = outcome<R>::from_value(fn(first[static_cast<std::ptrdiff_t>(i)]));
              }
            },
            e);
        if (r == run_outcome::failed) out[i] = outcome<R>::from_error(std::move(e));
      }
    };
    parallel_indices(p, frame, n, body);
    if (frame.ancestors_cancelled()) throw task_cancelled();
    return out;
  } else {
    // Results go straight into their slots; a type that is not default-constructible is
    // built into an optional first.
    // bool results go into one byte each (bool_slot): std::vector<bool> packs them into
    // shared words, and two threads writing neighbouring bits would lose one write.
    constexpr bool direct =
        std::is_void_v<R> || (std::is_default_constructible_v<R> && !std::is_same_v<R, bool>);
    using Store = std::conditional_t<
        std::is_void_v<R>, std::monostate,
        std::conditional_t<
            direct, R, std::conditional_t<std::is_same_v<R, bool>, bool_slot, std::optional<R>>>>;
    std::vector<Store> store(std::is_void_v<R> ? 0 : n);
    auto body = [&](std::size_t lo, std::size_t hi) noexcept {
      std::size_t i = lo;
      std::exception_ptr e;
      // One capture per chunk: the loop inside stays tight (it vectorizes).
      const run_outcome r = run_capturing(
          [&] {
            for (; i < hi; ++i) {
              if constexpr (std::is_void_v<R>) {
                fn(first[static_cast<std::ptrdiff_t>(i)]);
              } else if constexpr (direct) {
                store[i] = fn(first[static_cast<std::ptrdiff_t>(i)]);
              } else if constexpr (std::is_same_v<R, bool>) {
                store[i].value = fn(first[static_cast<std::ptrdiff_t>(i)]);
              } else {
                store[i].emplace(fn(first[static_cast<std::ptrdiff_t>(i)]));
              }
            }
          },
          e);
      // Element i threw: the rest of this chunk is cancelled with it.
      if (r == run_outcome::cancelled) {
        observed_cancel.store(true, std::memory_order_relaxed);
      } else if (r == run_outcome::failed) {
        {
          std::lock_guard lock(failures_mutex);
          failures.emplace_back(i, std::move(e));
        }
        frame.on_failure();
      }
    };
    parallel_indices(p, frame, n, body);
    if (!failures.empty()) {
      std::sort(failures.begin(), failures.end(),
                [](auto& a, auto& b) { return a.first < b.first; });
      std::vector<std::exception_ptr> errors;
      for (auto& f : failures) errors.push_back(std::move(f.second));
      throw_group_error(std::move(errors), n);
    }
    /// relaxed: every element's body happens-before this (the range jobs were joined).
    if (frame.cancelled() || observed_cancel.load(std::memory_order_relaxed))
      throw task_cancelled();
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (direct) {
      return store;
    } else if constexpr (std::is_same_v<R, bool>) {
      std::vector<bool> out(n);
      for (std::size_t i = 0; i < n; ++i) out[i] = store[i].value;
      return out;
    } else {
      std::vector<R> out;
      out.reserve(n);
      for (auto& o : store) out.push_back(std::move(*o));
      return out;
    }
  }
}

template <bool Settled, class Range, class Fn>
auto gather_range_on(pool& p, Range& range, Fn& fn) {
  if (on_pool(p)) return gather_range_here<Settled>(p, range, fn);
  return run_in_pool(p, [&] { return gather_range_here<Settled>(p, range, fn); });
}

}  // namespace detail

// ---- callables ------------------------------------------------------------------------

/// Runs each callable (f() or f(std::stop_token)) concurrently and returns their results
/// in argument order, as a std::tuple (void results: std::monostate). The first failure
/// cancels the rest; every failure comes back, in argument order, in one
/// task_group_error; task_cancelled if an enclosing scope was cancelled. Nothing is
/// allocated: the children live on the caller's frame. Everything the children did
/// happens before gather returns. Thread safety: call from any thread or task.
/// @code
/// auto [a, b] = cohort::gather([] { return fib(29); }, [] { return fib(28); });
/// @endcode
template <class... Fs>
requires(sizeof...(Fs) > 0 && detail::all_nullary_tasks<Fs...>) auto gather(Fs&&... fs) {
  return detail::gather_on<false>(detail::ambient_pool(), fs...);
}
/// As gather(fs...), on the scheduler s.
template <class... Fs>
requires(sizeof...(Fs) > 0 && detail::all_nullary_tasks<Fs...>) auto gather(scheduler& s,
                                                                            Fs&&... fs) {
  return detail::gather_on<false>(detail::pool_of(s), fs...);
}
/// As gather(fs...), but every callable runs to its end and each result is an
/// outcome<R> (a value, an exception or cancelled): asyncio's return_exceptions=True.
template <class... Fs>
requires(sizeof...(Fs) > 0 && detail::all_nullary_tasks<Fs...>) auto gather_settled(Fs&&... fs) {
  return detail::gather_on<true>(detail::ambient_pool(), fs...);
}
/// As gather_settled(fs...), on the scheduler s.
template <class... Fs>
requires(sizeof...(Fs) > 0 && detail::all_nullary_tasks<Fs...>) auto gather_settled(scheduler& s,
                                                                                    Fs&&... fs) {
  return detail::gather_on<true>(detail::pool_of(s), fs...);
}

// ---- ranges ---------------------------------------------------------------------------

/// Calls fn(element) for every element of range in parallel (split recursively on demand,
/// no task per element: a piece runs its elements one after the other, so elements of one
/// call must not wait on one another; cancellation checked every 64 elements) and returns
/// a std::vector of the results in input order. A forward range is visited in place; an
/// input-only range is read once into a buffer first. Failures and cancellation as
/// gather(fs...). For tasks that wait on each other, use gather(fs...) or a task_group.
/// @code
/// std::vector<std::size_t> lens = cohort::gather(words, [](const std::string& w) { return
/// w.size(); });
/// @endcode
template <detail::gatherable_range Range, class Fn>
auto gather(Range&& range, Fn&& fn) {
  return detail::gather_range_on<false>(detail::ambient_pool(), range, fn);
}
/// As gather(range, fn), on the scheduler s.
template <detail::gatherable_range Range, class Fn>
auto gather(scheduler& s, Range&& range, Fn&& fn) {
  return detail::gather_range_on<false>(detail::pool_of(s), range, fn);
}
/// As gather(range, fn), but every element is processed and each result is an outcome<R>.
template <detail::gatherable_range Range, class Fn>
auto gather_settled(Range&& range, Fn&& fn) {
  return detail::gather_range_on<true>(detail::ambient_pool(), range, fn);
}
/// As gather_settled(range, fn), on the scheduler s.
template <detail::gatherable_range Range, class Fn>
auto gather_settled(scheduler& s, Range&& range, Fn&& fn) {
  return detail::gather_range_on<true>(detail::pool_of(s), range, fn);
}

}  // namespace cohort
