// SPDX-License-Identifier: Apache-2.0
// Parallel loops: for_each_index, for_each_chunk, for_each, transform.
//
// Each is one scope over its elements (see loop_core.hpp): it returns only after every
// piece ended; the first failure (cancel_siblings) stops new pieces and requests the stop
// tokens of running bodies; every failure comes back in index order in one
// task_group_error. Bodies may take a trailing std::stop_token.
// Example:
//   cohort::for_each_index(0, v.size(), [&](std::size_t i) { v[i] = std::sqrt(v[i]); });
//   cohort::for_each_chunk(0, n, [&](std::size_t lo, std::size_t hi) { blur(rows, lo, hi); },
//                          {.name = "blur"});
#pragma once

#include <cohort/algorithm/loop_core.hpp>

namespace cohort {
namespace detail {

// How many elements one call of a for_each_chunk body gets at most, when the user gave no
// grain: big enough for the body's own loop to vectorize and amortise its setup, small
// enough that a cancel is seen soon.
inline constexpr std::size_t chunk_call_stride = 1024;

template <class F, class I>
inline constexpr bool index_body_takes_token = std::is_invocable_v<F&, I, std::stop_token>;

// Failures of an index loop are named by the user's index (first + position).
template <std::integral I>
void name_by_index(loop_state& st, const I& first) noexcept {
  st.index_context = &first;
  st.index_text = [](const void* context, std::size_t position) {
    return std::to_string(index_at(*static_cast<const I*>(context), position));
  };
}

template <std::integral I, class F>
void for_each_index_on(pool& p, I first, I last, F& f, const loop_options& o) {
  const std::size_t n = index_count(first, last, "for_each_index");
  constexpr bool token = index_body_takes_token<F, I>;
  static_assert(token || std::is_invocable_v<F&, I>,
                "cohort::for_each_index: the body must be callable as f(i) or f(i, stop_token)");
  auto run = [&] {
    loop_state st(o, "for_each_index");
    name_by_index(st, first);
    auto leaf = [&](std::size_t lo, std::size_t hi) noexcept {
      with_stop_token<token>(st, lo, [&](auto... stop) {
        auto call = [&](std::size_t i) { f(index_at(first, i), stop...); };
        run_elements(st, lo, hi, call);
      });
    };
    split_for(st.frame, n, splitter_for(o, p, n), leaf, st.label);
    st.finish(n);
  };
  run_loop(p, o, run);
}

template <std::integral I, class F>
void for_each_chunk_on(pool& p, I first, I last, F& f, const loop_options& o) {
  const std::size_t n = index_count(first, last, "for_each_chunk");
  constexpr bool token = std::is_invocable_v<F&, I, I, std::stop_token>;
  static_assert(token || std::is_invocable_v<F&, I, I>,
                "cohort::for_each_chunk: the body must be callable as f(lo, hi) or "
                "f(lo, hi, stop_token)");
  // With a user grain a call gets the whole piece (at most grain elements), as asked.
  const std::size_t stride = o.grain != 0 ? o.grain : chunk_call_stride;
  auto run = [&] {
    loop_state st(o, "for_each_chunk");
    name_by_index(st, first);
    auto leaf = [&](std::size_t lo, std::size_t hi) noexcept {
      with_stop_token<token>(st, lo, [&](auto... stop) {
        std::size_t a = lo;  // a failing chunk is named by its first index
        const bool returned = st.run_user_code(a, [&] {
          while (a < hi) {
            if (st.frame.cancelled()) {
              st.note_skipped();
              return;
            }
            const std::size_t b = hi - a > stride ? a + stride : hi;
            f(index_at(first, a), index_at(first, b), stop...);
            a = b;
          }
        });
        // keep_going: the rest of this piece still runs
        if (!returned && st.keep_going() && a < hi) {
          const std::size_t b = hi - a > stride ? a + stride : hi;
          for (a = b; a < hi;) {
            const std::size_t e = hi - a > stride ? a + stride : hi;
            st.run_user_code(a, [&] { f(index_at(first, a), index_at(first, e), stop...); });
            a = e;
          }
        }
      });
    };
    split_for(st.frame, n, splitter_for(o, p, n), leaf, st.label);
    st.finish(n);
  };
  run_loop(p, o, run);
}

template <class Range, class F>
void for_each_on(pool& p, Range& range, F& f, const loop_options& o) {
  auto first = std::ranges::begin(range);
  using Elem = decltype(element_at(first, 0));
  constexpr bool token = std::is_invocable_v<F&, Elem, std::stop_token>;
  static_assert(token || std::is_invocable_v<F&, Elem>,
                "cohort::for_each: the body must be callable as f(element) or "
                "f(element, stop_token)");
  const std::size_t n = range_count(range);
  auto run = [&] {
    loop_state st(o, "for_each");
    auto leaf = [&](std::size_t lo, std::size_t hi) noexcept {
      with_stop_token<token>(st, lo, [&](auto... stop) {
        auto call = [&](std::size_t i) { f(element_at(first, i), stop...); };
        run_elements(st, lo, hi, call);
      });
    };
    split_for(st.frame, n, splitter_for(o, p, n), leaf, st.label);
    st.finish(n);
  };
  run_loop(p, o, run);
}

template <class Range, class O, class F>
O transform_on(pool& p, Range& in, O out, F& f, const loop_options& o) {
  auto first = std::ranges::begin(in);
  using Elem = decltype(element_at(first, 0));
  constexpr bool token = std::is_invocable_v<F&, Elem, std::stop_token>;
  static_assert(token || std::is_invocable_v<F&, Elem>,
                "cohort::transform: the function must be callable as f(element) or "
                "f(element, stop_token)");
  using V = std::remove_cvref_t<typename std::conditional_t<
      token, std::invoke_result<F&, Elem, std::stop_token>, std::invoke_result<F&, Elem>>::type>;
  const std::size_t n = range_count(in);
  if constexpr (writable_in_place<O>) {
    auto run = [&] {
      loop_state st(o, "transform");
      auto leaf = [&](std::size_t lo, std::size_t hi) noexcept {
        with_stop_token<token>(st, lo, [&](auto... stop) {
          auto call = [&](std::size_t i) { element_at(out, i) = f(element_at(first, i), stop...); };
          run_elements(st, lo, hi, call);
        });
      };
      split_for(st.frame, n, splitter_for(o, p, n), leaf, st.label);
      st.finish(n);
    };
    run_loop(p, o, run);
    return out + static_cast<std::iter_difference_t<O>>(n);
  } else {
    // A proxy or sequential output: results go to a buffer of whole objects first, then
    // are written out in order on this thread, so no write can be lost to a shared word.
    std::vector<std::optional<V>> buffer(n);
    auto run = [&] {
      loop_state st(o, "transform");
      auto leaf = [&](std::size_t lo, std::size_t hi) noexcept {
        with_stop_token<token>(st, lo, [&](auto... stop) {
          auto call = [&](std::size_t i) { buffer[i].emplace(f(element_at(first, i), stop...)); };
          run_elements(st, lo, hi, call);
        });
      };
      split_for(st.frame, n, splitter_for(o, p, n), leaf, st.label);
      st.finish(n);
    };
    run_loop(p, o, run);
    // Each write (V's move, the output iterator's assignment: a back_inserter's push_back
    // and the container's growth) is element i's code: a throw stops the writing there and
    // is element i's failure, reported as the loop reports any (what follows it is not
    // written).
    std::size_t i = 0;
    std::exception_ptr error;
    const run_outcome outcome = run_capturing(
        [&] {
          for (; i < n; ++i) {
            *out = std::move(*buffer[i]);
            ++out;
          }
        },
        error);
    if (outcome != run_outcome::returned) throw_loop_failure(o, i, n, std::move(error));
    return out;
  }
}

}  // namespace detail

/// Calls f(i) (or f(i, std::stop_token)) for every i in [first, last), concurrently, on the
/// ambient scheduler (the one running the current task, else default_scheduler()).
///
/// Requirements: first and last are of any integer types; i is of their common type (so
/// `for_each_index(0, v.size(), f)` compiles), and last < first after that conversion is a
/// std::invalid_argument. f is called concurrently from several workers on one copy, so
/// its call operator must be safe to call concurrently.
/// Guarantees (the same for every parallel algorithm):
///  - Structured: nothing the loop started runs after it returns or throws.
///  - Under cancel_siblings (loop_options::on_failure) the first failure stops the loop
///    from starting more elements and requests the stop tokens of running bodies; the loop
///    throws one task_group_error with every failure in index order, named "name[i]"
///    by the failing index i (for_each, transform, reduce, ...: by the element's position
///    in the range); its what() reads "2 of
///    1000000 elements failed; first: rows[17]: bad pixel". Under keep_going every
///    element runs and every failure is reported. A body that throws task_cancelled
///    observed a cancel: not a failure, but the loop then ends with task_cancelled.
///  - When loop_options::timeout passes: no more elements start, running bodies see their
///    stop token, timeout_error (unless an element failed).
///  - A cancel from outside (an enclosing group failed or was cancelled) stops the loop the
///    same way: task_cancelled. Cancellation is checked every 64 elements: after a cancel,
///    each running piece may still start up to 64 more.
///  - Nested loops (a loop inside a body or a task) never deadlock nor oversubscribe: a
///    waiting worker runs other pieces meanwhile.
/// Thread safety: call from any thread or task; called from outside the pool, the calling
/// thread waits while the workers run the loop.
/// Memory ordering: everything the caller did before the call happens-before every body
/// runs; everything the bodies did happens-before the loop returns.
/// Example:
/// @code
/// cohort::for_each_index(0, v.size(), [&](std::size_t i) { v[i] = std::sqrt(v[i]); });
/// @endcode
template <std::integral I1, std::integral I2, class F>
void for_each_index(I1 first, I2 last, F f, loop_options o = {}) {
  using I = std::common_type_t<I1, I2>;
  detail::for_each_index_on<I>(detail::ambient_pool(), static_cast<I>(first), static_cast<I>(last),
                               f, o);
}
/// As for_each_index(first, last, f, o), on the scheduler s.
template <std::integral I1, std::integral I2, class F>
void for_each_index(scheduler& s, I1 first, I2 last, F f, loop_options o = {}) {
  using I = std::common_type_t<I1, I2>;
  detail::for_each_index_on<I>(detail::pool_of(s), static_cast<I>(first), static_cast<I>(last), f,
                               o);
}

/// Calls f(lo, hi) (or f(lo, hi, std::stop_token)) for disjoint chunks [lo, hi) that
/// together cover [first, last), concurrently and in no particular order, so the body's own
/// loop over a chunk can vectorize and amortise its setup. A chunk holds at most 1024
/// elements, or at most loop_options::grain when one is given.
///
/// Requirements, guarantees, thread safety and memory ordering: as for_each_index(); a
/// failure is named by the failing chunk's first index (lo).
/// Under keep_going the chunks after a failing one still run.
/// Example:
/// @code
/// cohort::for_each_chunk(0, n, [&](std::size_t lo, std::size_t hi) { blur(rows, lo, hi); },
///                        {.name = "blur"});
/// @endcode
template <std::integral I1, std::integral I2, class F>
void for_each_chunk(I1 first, I2 last, F f, loop_options o = {}) {
  using I = std::common_type_t<I1, I2>;
  detail::for_each_chunk_on<I>(detail::ambient_pool(), static_cast<I>(first), static_cast<I>(last),
                               f, o);
}
/// As for_each_chunk(first, last, f, o), on the scheduler s.
template <std::integral I1, std::integral I2, class F>
void for_each_chunk(scheduler& s, I1 first, I2 last, F f, loop_options o = {}) {
  using I = std::common_type_t<I1, I2>;
  detail::for_each_chunk_on<I>(detail::pool_of(s), static_cast<I>(first), static_cast<I>(last), f,
                               o);
}

/// Calls f(element) (or f(element, std::stop_token)) for every element of range,
/// concurrently; the element is passed as the range's reference type (so f may modify it).
///
/// Requirements: range is a random access, sized range (std::vector, std::deque,
/// std::span, an array, ...). f as in for_each_index().
/// Guarantees, thread safety and memory ordering: as for_each_index(); a failure is named
/// by the element's index in range.
/// Example:
/// @code
/// cohort::for_each(images, [](Image& im, std::stop_token stop) { im.denoise(stop); },
///                  {.name = "images"});
/// @endcode
template <detail::loop_range R, class F>
void for_each(R&& range, F f, loop_options o = {}) {
  detail::for_each_on(detail::ambient_pool(), range, f, o);
}
/// As for_each(range, f, o), on the scheduler s.
template <detail::loop_range R, class F>
void for_each(scheduler& s, R&& range, F f, loop_options o = {}) {
  detail::for_each_on(detail::pool_of(s), range, f, o);
}

/// Writes out[i] = f(in[i]) (or f(in[i], std::stop_token)) for every i, concurrently, and
/// returns out advanced by the size of in.
///
/// Requirements: in is a random access, sized range; out is any output iterator for f's
/// results, with room for size(in) of them. A random access iterator to distinct objects
/// (a std::vector<T>'s, a pointer) is written in place, concurrently; any other (a proxy
/// such as std::vector<bool>::iterator, std::back_inserter) gets the results from a
/// buffer, in order, on the calling thread after every element ran, so no write is lost to
/// a word shared by threads. f as in for_each_index().
/// Guarantees, thread safety and memory ordering: as for_each_index(). When the loop
/// throws, an in-place output holds the results of the elements that ran; a buffered one
/// was not written to, unless a write itself threw (the result's move, the iterator's
/// assignment, e.g. a back_inserter's push_back): that is element i's failure, reported
/// the same way, and the results before i were written, none after (under keep_going
/// too: the output iterator's state after a failed write is its own).
/// Example:
/// @code
/// std::vector<double> y(x.size());
/// cohort::transform(x, y.begin(), [](double v) { return std::exp(v); });
/// @endcode
template <detail::loop_range R, class O, class F>
O transform(R&& in, O out, F f, loop_options o = {}) {
  return detail::transform_on(detail::ambient_pool(), in, out, f, o);
}
/// As transform(in, out, f, o), on the scheduler s.
template <detail::loop_range R, class O, class F>
O transform(scheduler& s, R&& in, O out, F f, loop_options o = {}) {
  return detail::transform_on(detail::pool_of(s), in, out, f, o);
}

}  // namespace cohort
