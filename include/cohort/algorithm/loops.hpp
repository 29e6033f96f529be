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

template <std::integral I, class F>
void for_each_index_on(pool& p, I first, I last, F& f, const loop_options& o) {
  const std::size_t n = index_count(first, last, "for_each_index");
  constexpr bool token = index_body_takes_token<F, I>;
  static_assert(token || std::is_invocable_v<F&, I>,
                "cohort::for_each_index: the body must be callable as f(i) or f(i, stop_token)");
  auto run = [&] {
    loop_state st(o, "for_each_index");
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
    auto leaf = [&](std::size_t lo, std::size_t hi) noexcept {
      with_stop_token<token>(st, lo, [&](auto... stop) {
        std::size_t a = lo;
        try {
          while (a < hi) {
            if (st.frame.cancelled()) {
              st.note_skipped();
              return;
            }
            const std::size_t b = hi - a > stride ? a + stride : hi;
            f(index_at(first, a), index_at(first, b), stop...);
            a = b;
          }
        } catch (...) {  // a chunk is named by its first index
          st.fail(a, std::current_exception());
          // keep_going: the rest of this piece still runs
          if (st.keep_going() && a < hi) {
            const std::size_t b = hi - a > stride ? a + stride : hi;
            for (a = b; a < hi;) {
              const std::size_t e = hi - a > stride ? a + stride : hi;
              try {
                f(index_at(first, a), index_at(first, e), stop...);
              } catch (...) {
                st.fail(a, std::current_exception());
              }
              a = e;
            }
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
    for (auto& v : buffer) {
      *out = std::move(*v);
      ++out;
    }
    return out;
  }
}

}  // namespace detail

// f(i) (or f(i, stop_token)) for every i in [first, last); the index is the common type.
template <std::integral I1, std::integral I2, class F>
void for_each_index(I1 first, I2 last, F f, loop_options o = {}) {
  using I = std::common_type_t<I1, I2>;
  detail::for_each_index_on<I>(detail::ambient_pool(), static_cast<I>(first), static_cast<I>(last),
                               f, o);
}
template <std::integral I1, std::integral I2, class F>
void for_each_index(scheduler& s, I1 first, I2 last, F f, loop_options o = {}) {
  using I = std::common_type_t<I1, I2>;
  detail::for_each_index_on<I>(detail::pool_of(s), static_cast<I>(first), static_cast<I>(last), f,
                               o);
}

// f(lo, hi) over disjoint chunks covering [first, last), in no particular order.
template <std::integral I1, std::integral I2, class F>
void for_each_chunk(I1 first, I2 last, F f, loop_options o = {}) {
  using I = std::common_type_t<I1, I2>;
  detail::for_each_chunk_on<I>(detail::ambient_pool(), static_cast<I>(first), static_cast<I>(last),
                               f, o);
}
template <std::integral I1, std::integral I2, class F>
void for_each_chunk(scheduler& s, I1 first, I2 last, F f, loop_options o = {}) {
  using I = std::common_type_t<I1, I2>;
  detail::for_each_chunk_on<I>(detail::pool_of(s), static_cast<I>(first), static_cast<I>(last), f,
                               o);
}

// f(element) (or f(element, stop_token)) for every element of a random access range.
template <detail::loop_range R, class F>
void for_each(R&& range, F f, loop_options o = {}) {
  detail::for_each_on(detail::ambient_pool(), range, f, o);
}
template <detail::loop_range R, class F>
void for_each(scheduler& s, R&& range, F f, loop_options o = {}) {
  detail::for_each_on(detail::pool_of(s), range, f, o);
}

// out[i] = f(in[i]); returns out + size. Any output iterator, proxies included.
template <detail::loop_range R, class O, class F>
O transform(R&& in, O out, F f, loop_options o = {}) {
  return detail::transform_on(detail::ambient_pool(), in, out, f, o);
}
template <detail::loop_range R, class O, class F>
O transform(scheduler& s, R&& in, O out, F f, loop_options o = {}) {
  return detail::transform_on(detail::pool_of(s), in, out, f, o);
}

}  // namespace cohort
