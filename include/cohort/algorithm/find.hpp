// SPDX-License-Identifier: Apache-2.0
// Parallel search: find_if (the lowest-index match), any_of, all_of, none_of.
//
// Pieces search left to right; a match lowers a shared bound (an atomic minimum), and no
// piece starts, or goes on, past the bound: elements beyond a match already found are
// never looked at, elements before it always are, so the answer is the first match by
// index. A failure in any element the search ran makes the call throw, also after it
// found a match.
// Example:
//   auto it = cohort::find_if(v, [](int x) { return x < 0; });
//   bool sorted_ok = cohort::all_of(v, [](int x) { return x >= 0; });
#pragma once

#include <cohort/algorithm/loop_core.hpp>

namespace cohort {
namespace detail {

template <class Range, class Pred>
std::size_t find_index_on(pool& p, Range& range, Pred& pred, const loop_options& o) {
  const std::size_t n = range_count(range);
  auto first = std::ranges::begin(range);
  auto run = [&]() -> std::size_t {
    loop_state st(o, "find_if");
    // The lowest index found so far (n: none). relaxed: a bound to stop early; the final
    // value is read after every piece joined.
    std::atomic<std::size_t> found{n};
    auto leaf = [&](std::size_t lo, std::size_t hi) noexcept {
      std::size_t i = lo;
      while (i < hi) {
        const bool returned = st.run_user_code(i, [&] {
          while (i < hi) {
            if (i >= found.load(std::memory_order_relaxed)) return;  // past a match: done
            if (st.frame.cancelled()) {
              st.note_skipped();
              return;
            }
            const std::size_t end = hi - i > cancel_check_stride ? i + cancel_check_stride : hi;
            for (; i < end; ++i) {
              if (pred(element_at(first, i))) {
                std::size_t seen = found.load(std::memory_order_relaxed);
                while (i < seen &&
                       !found.compare_exchange_weak(seen, i, std::memory_order_relaxed)) {
                }
                return;
              }
            }
          }
        });
        if (returned || !st.keep_going()) return;  // found, past a match, skipped, or failed
        ++i;  // keep_going: the search goes on after a failing element
      }
    };
    split_for(st.frame, n, splitter_for(o, p, n), leaf, st.label);
    st.finish(n);
    return found.load(std::memory_order_relaxed);
  };
  return run_loop(p, o, run);
}

template <class Pred>
struct negated {
  Pred& pred;
  template <class X>
  bool operator()(X&& x) {
    return !static_cast<bool>(pred(std::forward<X>(x)));
  }
};

}  // namespace detail

/// Returns an iterator to the first element of range (by index) for which pred is true,
/// or the end of range if there is none.
///
/// Pieces search left to right; a match lowers a shared bound and no piece starts, or goes
/// on past its next cancellation check, beyond the bound: pred runs for every element
/// before the answer and possibly for some after it (a running piece sees a new match
/// within 64 elements), so the answer is the first match whatever the timing.
/// Requirements: range is a random access, sized range, passed as an lvalue or a borrowed
/// view (the iterator refers into it; a temporary container does not compile); pred(element) is
/// convertible to bool, safe to call concurrently, and takes no stop token. Guarantees, thread
/// safety and memory ordering: as for_each_index(). A failure in any element the search ran makes
/// the call throw, also after it found a match; under keep_going the search goes on past a failing
/// element. Example:
/// @code
/// auto it = cohort::find_if(v, [](int x) { return x < 0; });
/// if (it != v.end()) report(*it);
/// @endcode
template <detail::loop_range R, class Pred>
requires std::ranges::borrowed_range<R>  // a temporary container: the iterator would dangle
auto find_if(R&& range, Pred pred, loop_options o = {}) {
  const std::size_t k = detail::find_index_on(detail::ambient_pool(), range, pred, o);
  return std::ranges::next(std::ranges::begin(range),
                           static_cast<std::ranges::range_difference_t<R>>(k));
}
/// As find_if(range, pred, o), on the scheduler s.
template <detail::loop_range R, class Pred>
requires std::ranges::borrowed_range<R>
auto find_if(scheduler& s, R&& range, Pred pred, loop_options o = {}) {
  const std::size_t k = detail::find_index_on(detail::pool_of(s), range, pred, o);
  return std::ranges::next(std::ranges::begin(range),
                           static_cast<std::ranges::range_difference_t<R>>(k));
}

/// True if pred is true for some element of range (false for an empty range). Stops
/// early as find_if() does; requirements, guarantees, thread safety and memory ordering
/// as find_if().
/// @code
/// bool has_negative = cohort::any_of(v, [](int x) { return x < 0; });
/// @endcode
template <detail::loop_range R, class Pred>
bool any_of(R&& range, Pred pred, loop_options o = {}) {
  return detail::find_index_on(detail::ambient_pool(), range, pred, o) !=
         detail::range_count(range);
}
/// As any_of(range, pred, o), on the scheduler s.
template <detail::loop_range R, class Pred>
bool any_of(scheduler& s, R&& range, Pred pred, loop_options o = {}) {
  return detail::find_index_on(detail::pool_of(s), range, pred, o) != detail::range_count(range);
}
/// True if pred is false for every element of range (true for an empty range): the
/// negation of any_of(range, pred, o), which it calls.
/// @code
/// bool clean = cohort::none_of(files, [](const file& f) { return f.corrupt(); });
/// @endcode
template <detail::loop_range R, class Pred>
bool none_of(R&& range, Pred pred, loop_options o = {}) {
  return !cohort::any_of(range, std::move(pred), std::move(o));
}
/// As none_of(range, pred, o), on the scheduler s.
template <detail::loop_range R, class Pred>
bool none_of(scheduler& s, R&& range, Pred pred, loop_options o = {}) {
  return !cohort::any_of(s, range, std::move(pred), std::move(o));
}
/// True if pred is true for every element of range (true for an empty range). Stops at
/// the first element for which it is false, as find_if() stops at a match; requirements,
/// guarantees, thread safety and memory ordering as find_if().
/// @code
/// bool all_positive = cohort::all_of(v, [](int x) { return x > 0; });
/// @endcode
template <detail::loop_range R, class Pred>
bool all_of(R&& range, Pred pred, loop_options o = {}) {
  detail::negated<Pred> not_pred{pred};
  return detail::find_index_on(detail::ambient_pool(), range, not_pred, o) ==
         detail::range_count(range);
}
/// As all_of(range, pred, o), on the scheduler s.
template <detail::loop_range R, class Pred>
bool all_of(scheduler& s, R&& range, Pred pred, loop_options o = {}) {
  detail::negated<Pred> not_pred{pred};
  return detail::find_index_on(detail::pool_of(s), range, not_pred, o) ==
         detail::range_count(range);
}

}  // namespace cohort
