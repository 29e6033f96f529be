// SPDX-License-Identifier: Apache-2.0
// Parallel reductions: reduce, transform_reduce.
//
// Each piece folds its elements left to right (a sum or product of a built-in type pairs
// them first: folds_pairs); the pieces' results combine in index order (op(left, right)),
// so `op` must be associative but need not be commutative.
// `init` is used exactly once: op(init, everything). With partition::deterministic the
// split tree depends on (n, grain) alone, so the result has the same bits for every
// worker count and every run (floating point included).
//
// T's own copies, moves and assignments are user code: each runs inside the loop's
// failure capture, so one that throws fails the loop like a throwing op (a task_group_error,
// never std::terminate). The splitter hands partial results between pieces inside
// noexcept jobs, so a T whose moves may throw travels boxed on the heap (piece_value).
// Example:
//   double total = cohort::reduce(v, 0.0, std::plus<>{});
//   double norm2 = cohort::transform_reduce(v, 0.0, std::plus<>{}, [](double x) { return x * x; },
//                                           {.split = cohort::partition::deterministic});
#pragma once

#include <functional>
#include <type_traits>
#include <utility>

#include <cohort/algorithm/loop_core.hpp>

namespace cohort {
namespace detail {

struct identity_map {
  template <class X>
  constexpr X&& operator()(X&& x) const noexcept {
    return std::forward<X>(x);
  }
};

// Folding one element at a time makes every op wait for the one before: a sum of doubles
// runs at the adder's latency (about 4 cycles an element). For the standard sums and
// products of a built-in type, whose op cannot throw, over stored elements that are T
// already (so folding pairs first converts nothing differently, and reading one runs no
// user code: a transform view's element is a call that may throw, and the pairs would
// name its failure by the first index of four), a full stride folds pairs first, as
// libstdc++'s std::reduce does: acc op ((x0 op x1) op (x2 op x3)). The grouping changes,
// never the order (op need not be commutative), and it depends on the piece's bounds
// alone, so partition::deterministic keeps its bits.
// std::plus<> is std::plus<void>: the transparent one.
template <class Op>
inline constexpr bool is_standard_arithmetic_op = false;
template <class U>
inline constexpr bool is_standard_arithmetic_op<std::plus<U>> =
    std::is_void_v<U> || std::is_arithmetic_v<U>;
template <class U>
inline constexpr bool is_standard_arithmetic_op<std::multiplies<U>> =
    std::is_void_v<U> || std::is_arithmetic_v<U>;
static_assert(is_standard_arithmetic_op<std::plus<>> && is_standard_arithmetic_op<std::plus<int>>);

template <class It>
using element_reference_t = decltype(element_at(std::declval<const It&>(), 0));

template <class T, class It, class Op, class Map>
inline constexpr bool folds_pairs =
    std::conjunction_v<std::is_arithmetic<T>, std::is_same<Map, identity_map>,
                       std::bool_constant<is_standard_arithmetic_op<std::remove_const_t<Op>>>,
                       std::is_lvalue_reference<element_reference_t<It>>,
                       std::is_same<std::remove_cvref_t<element_reference_t<It>>, T>>;
static_assert(cancel_check_stride % 4 == 0);

template <class T, class It, class Op, class Map>
struct reduce_work {
  // Empty: the piece failed or was cancelled. The splitter moves it between pieces inside
  // noexcept jobs: piece_value boxes a T whose moves may throw.
  using result_type = piece_value<T>;
  // A throw out of split_run would unwind frames whose forked halves are still on the
  // deque: moving a piece's result must not throw.
  static_assert(std::is_nothrow_move_constructible_v<result_type> &&
                std::is_nothrow_move_assignable_v<result_type>);
  scope_node& frame;
  loop_state& st;
  It first;
  Op& op;
  Map& map;
  std::string_view label;  // names stolen pieces in dump() and traces

  result_type leaf(std::size_t lo, std::size_t hi) noexcept {
    std::size_t i = lo;
    bool poisoned = false;  // keep_going after a failure: later elements still run
    result_type result;
    bool skipped = false;
    while (i < hi) {
      // Every copy, move and assignment of T (acc's, the result's) runs in here: a throw
      // is element i's failure, and the acc it left half-assigned is dropped with it.
      const bool returned = st.run_user_code(i, [&] {
        if (frame.cancelled()) {
          skipped = true;
          return;
        }
        T acc(map(element_at(first, i)));
        ++i;
        while (i < hi) {
          if (frame.cancelled()) {
            skipped = true;
            return;
          }
          // A full stride has a trip count the compiler knows (as in run_elements).
          const std::size_t end = hi - i >= cancel_check_stride ? i + cancel_check_stride : hi;
          if constexpr (folds_pairs<T, It, Op, Map>) {
            if (end - i == cancel_check_stride) {
              for (; i != end; i += 4) {
                const T left = op(element_at(first, i), element_at(first, i + 1));
                const T right = op(element_at(first, i + 2), element_at(first, i + 3));
                acc = op(acc, op(left, right));
              }
              continue;
            }
          }
          if (end - i == cancel_check_stride) {
            for (; i != end; ++i) acc = op(std::move(acc), map(element_at(first, i)));
          } else {
            for (; i < end; ++i) acc = op(std::move(acc), map(element_at(first, i)));
          }
        }
        --i;  // a throw below (acc's move) is named by the piece's last element
        result.emplace(std::move(acc));
        ++i;
      });
      if (skipped) {
        st.note_skipped();
        return {};
      }
      if (!returned) {
        if (!st.keep_going()) return {};
        poisoned = true;
        ++i;
      }
    }
    if (poisoned) return {};
    return result;  // moves a pointer, or a T whose move cannot throw
  }

  result_type combine(result_type&& left, result_type&& right, std::size_t mid) noexcept {
    if (!left || !right) return {};
    result_type combined;  // a failure is named by the first element of the right part
    st.run_user_code(mid, [&] { combined.emplace(op(std::move(*left), std::move(*right))); });
    return combined;
  }
};

// init is the caller's parameter, taken by reference: it is moved once, into the last
// combine, inside the loop's failure capture.
template <class Range, class T, class Op, class Map>
T transform_reduce_on(pool& p, Range& range, T& init, Op& op, Map& map, const loop_options& o) {
  const std::size_t n = range_count(range);
  // No loop runs: init is returned as std::reduce returns it (a move that throws reaches
  // the caller as it is).
  if (n == 0) return std::move(init);
  auto first = std::ranges::begin(range);
  piece_value<T> result;
  auto run = [&] {
    loop_state st(o, "reduce");
    reduce_work<T, decltype(first), Op, Map> w{st.frame, st, first, op, map, st.label};
    piece_value<T> total = split_range(w, n, splitter_for(o, p, n));
    // The last combine, op(init, total), is one of the loop's: a failure in it is reported
    // like any other (a task_group_error, through finish()), named as a combine is, by the
    // first index of its right part: [0, n), so index 0. total is missing only when a piece
    // failed or was skipped, which finish() reports.
    if (total) {
      constexpr std::size_t whole_range_first = 0;
      st.run_user_code(whole_range_first,
                       [&] { result.emplace(op(std::move(init), std::move(*total))); });
    }
    st.finish(n);
  };
  run_loop(p, o, run);
  if (!result) throw task_cancelled();  // unreachable: finish() threw for a missing piece
  if constexpr (std::is_nothrow_move_constructible_v<T>) {
    return std::move(*result);
  } else {
    // The move into the caller's object is T's code too, the loop's last step: reported as
    // the last combine's failure would be ("name[0]").
    try {
      return std::move(*result);
    } catch (...) {
      throw_loop_failure(o, 0, n, std::current_exception());
    }
  }
}

}  // namespace detail

/// Returns op(init, x0 op x1 op ... op xn-1) over the elements of range, the partial
/// results grouped by the split tree; init alone when the range is empty.
///
/// Each piece folds its elements left to right (acc = op(acc, x); with std::plus or
/// std::multiplies over elements of T's own built-in type, four at a time as
/// acc op ((x0 op x1) op (x2 op x3)), as std::reduce does); the pieces' results
/// combine in index order (op(left, right)), so op must be associative but need not be
/// commutative. init is used exactly once, last: op(init, everything). With
/// partition::deterministic the grouping depends on (size, grain) alone, so the result has
/// the same bits for every worker count and every run (floating point included).
/// Requirements: range is a random access, sized range; T is constructible from an element
/// and assignable from op's result; op(T, element) and op(T, T) are valid and op is safe to
/// call concurrently. op takes no stop token. Pass op before options: `reduce(v, 0,
/// std::plus<>{}, opts)`.
/// Guarantees, thread safety and memory ordering: as for_each_index(); a failure is named
/// by the index of the element whose op threw (when combining two pieces: the first index
/// of the right one). The last combine, op(init, everything), is part of the loop: if it
/// throws, the call throws task_group_error with that one failure, named by the first
/// index of its right part, 0 ("name[0]"; a task_cancelled it throws is not a failure:
/// the call throws task_cancelled).
/// T's own copies, moves and assignments are user code as op is: one that throws fails
/// the call the same way, named by the element being folded in (the last element of its
/// piece for the move that stores the piece's result; a combine's index for the moves
/// into op; 0 for the move that hands the result to the caller). A T whose move
/// constructor or move assignment is not noexcept costs one heap allocation per piece (a
/// box the pieces hand on by pointer). The copy of init into the parameter is the
/// caller's; for an empty range init is returned as std::reduce returns it (no loop runs).
/// T's destructor must not throw.
/// Example:
/// @code
/// double total = cohort::reduce(v, 0.0);  // std::plus<>
/// int highest = cohort::reduce(v, INT_MIN, [](int a, int b) { return std::max(a, b); });
/// @endcode
template <detail::loop_range R, class T, class Op = std::plus<>>
T reduce(R&& range, T init, Op op = {}, loop_options o = {}) {
  detail::identity_map map;
  return detail::transform_reduce_on(detail::ambient_pool(), range, init, op, map, o);
}
/// As reduce(range, init, op, o), on the scheduler s.
template <detail::loop_range R, class T, class Op = std::plus<>>
T reduce(scheduler& s, R&& range, T init, Op op = {}, loop_options o = {}) {
  detail::identity_map map;
  return detail::transform_reduce_on(detail::pool_of(s), range, init, op, map, o);
}

/// As reduce(range, init, reduce_op, o) over map(x) for every element x: returns
/// reduce_op(init, map(x0) op ... op map(xn-1)); init alone when the range is empty.
///
/// Requirements: as reduce(), with map(x) in place of the elements; map is called
/// concurrently and takes no stop token.
/// Example:
/// @code
/// double norm2 = cohort::transform_reduce(v, 0.0, std::plus<>{}, [](double x) { return x * x; },
///                                         {.split = cohort::partition::deterministic});
/// @endcode
template <detail::loop_range R, class T, class Op, class M>
T transform_reduce(R&& range, T init, Op reduce_op, M map, loop_options o = {}) {
  return detail::transform_reduce_on(detail::ambient_pool(), range, init, reduce_op, map, o);
}
/// As transform_reduce(range, init, reduce_op, map, o), on the scheduler s.
template <detail::loop_range R, class T, class Op, class M>
T transform_reduce(scheduler& s, R&& range, T init, Op reduce_op, M map, loop_options o = {}) {
  return detail::transform_reduce_on(detail::pool_of(s), range, init, reduce_op, map, o);
}

}  // namespace cohort
