// SPDX-License-Identifier: Apache-2.0
// Parallel sorting: sort, stable_sort.
//
// sort: a parallel quicksort (oneTBB's and cilk's shape): a pseudo-median of nine as the
// pivot, Hoare's partition, the two parts sorted as a forked pair, std::sort below min_sort_leaf
// elements or when the pivots keep being bad (introsort's depth limit); a user grain sets that leaf
// size. No buffer, no extra pass over the data: the same work as a serial quicksort, spread over
// the pool. Numbers under std::less / std::greater are partitioned without branches on the
// comparisons (BlockQuicksort, Edelkamp and Weiss 2016, in pdqsort's form): a random input
// mispredicts about every other comparison branch of Hoare's loop, which costs more than
// the comparisons; the leaves are then sorted the same way, serially, std::sort taking only
// pieces of at most 32 elements. stable_sort: a parallel merge sort: the range is cut into a
// power-of-two number of contiguous leaves (the next power of two >= 4 x workers, or n / grain),
// the leaves are sorted in parallel with std::stable_sort, then merged pairwise level by level,
// ping-ponging between the range and one buffer of n elements; every merge is itself
// split in parallel (cut the longer run in the middle, binary-search the cut in the
// other). Merges take the left run's element first on ties, so the sort is stable.
// A pool of one worker or a short range is sorted by the std:: algorithm on this thread;
// so is stable_sort of an element type that is neither default constructible nor nothrow
// movable, construction and assignment both (its buffer is raw storage built by moving each
// element out and back in noexcept pieces).
// Comparators take no stop token; one that throws fails the sort (named by its piece's
// first index), as does a throwing move, swap or default constructor of the elements (all
// run inside the pieces' failure capture: a task_group_error, never std::terminate). A
// failed sort leaves every element a valid object but not necessarily a permutation of
// the input (std::sort's basic guarantee): sort loses at most the one element a swap or
// a std::sort leaf held aside when the throw came; stable_sort stops comparing but still
// moves every run back from its buffer, losing what the failing std::stable_sort leaf or
// merge had not placed yet (up to a few thousand elements in
// tests/unit/algorithm_value_failure_test.cpp, which counts). Lost elements are left
// moved-from in the range. A cancelled sort leaves the range a permutation of what it held.
// Example:
//   cohort::sort(v);                                   // std::less<>
//   cohort::stable_sort(people, by_age, {.name = "people"});
#pragma once

#include <algorithm>
#include <bit>
#include <functional>
#include <memory>

#include <cohort/algorithm/loop_core.hpp>

namespace cohort {
namespace detail {

// Below this many elements a leaf is not cut further; below twice this the sort is serial.
inline constexpr std::size_t min_sort_leaf = 8192;
// Merges of fewer elements run serially.
inline constexpr std::size_t min_parallel_merge = 32768;

// Raw storage for n objects of a type without a default constructor; destroys the first
// `built` of them.
template <class V>
struct built_buffer {
  explicit built_buffer(std::size_t count) : data(std::allocator<V>().allocate(count)), n(count) {}
  built_buffer(const built_buffer&) = delete;
  built_buffer& operator=(const built_buffer&) = delete;
  ~built_buffer() {
    std::destroy_n(data, built);
    std::allocator<V>().deallocate(data, n);
  }
  V* data;
  std::size_t n;
  std::size_t built = 0;
};

template <bool Stable, class It, class V, class Comp>
struct merge_sorter {
  loop_state& st;
  It first;
  V* buffer;
  Comp& comp;

  template <class Src, class Dst>
  void merge(Src src, std::size_t a0, std::size_t a1, std::size_t b0, std::size_t b1, Dst dst,
             std::size_t d0) noexcept {
    const std::size_t na = a1 - a0;
    const std::size_t nb = b1 - b0;
    // Merges run even after a cancel (they are cheap): the range must end a permutation
    // of what it held, and half of it may be in the buffer. After a failure (a comparator,
    // a move) nothing is compared any more, but the runs still move on to dst, unmerged,
    // so that what the buffer holds comes back to the range: only what the failing piece
    // held aside is lost.
    if (st.failed()) {
      st.run_user_code(d0, [&] {
        std::move(src + a0, src + a1, dst + d0);
        std::move(src + b0, src + b1, dst + d0 + na);
      });
      return;
    }
    st.run_user_code(d0, [&] {
      if (na + nb <= min_parallel_merge) {
        std::merge(std::make_move_iterator(src + a0), std::make_move_iterator(src + a1),
                   std::make_move_iterator(src + b0), std::make_move_iterator(src + b1), dst + d0,
                   comp);
        return;
      }
      std::size_t am, bm;
      if (na >= nb) {  // b elements before src[am] (strictly less) go left: stable
        am = a0 + na / 2;
        bm = static_cast<std::size_t>(std::lower_bound(src + b0, src + b1, src[am], comp) - src);
      } else {  // a elements not after src[bm] go left: ties keep a first
        bm = b0 + nb / 2;
        am = static_cast<std::size_t>(std::upper_bound(src + a0, src + a1, src[bm], comp) - src);
      }
      const std::size_t dm = d0 + (am - a0) + (bm - b0);
      fork_pair(
          st.frame, [&] { merge(src, a0, am, b0, bm, dst, d0); },
          [&] { merge(src, am, a1, bm, b1, dst, dm); }, st.label, dm, d0 + na + nb);
    });
  }

  // Sorts [lo, hi) with the result in the buffer (to_buffer) or in the range.
  void sort(std::size_t lo, std::size_t hi, unsigned depth, bool to_buffer) noexcept {
    if (depth == 0) {
      st.run_user_code(lo, [&] {
        if (st.frame.cancelled()) {
          st.note_skipped();
        } else if constexpr (Stable) {
          std::stable_sort(first + lo, first + hi, comp);
        } else {
          std::sort(first + lo, first + hi, comp);
        }
      });
      // Cancelled or failed too: the merge above reads this leaf from the buffer.
      if (to_buffer) st.run_user_code(lo, [&] { std::move(first + lo, first + hi, buffer + lo); });
      return;
    }
    const std::size_t mid = lo + (hi - lo) / 2;
    fork_pair(
        st.frame, [&] { sort(lo, mid, depth - 1, !to_buffer); },
        [&] { sort(mid, hi, depth - 1, !to_buffer); }, st.label, mid, hi);
    if (to_buffer) {
      merge(first, lo, mid, mid, hi, buffer, lo);
    } else {
      merge(buffer, lo, mid, mid, hi, first, lo);
    }
  }
};

// Comparisons cheap and unpredictable enough that a partition without branches on them pays:
// numbers (real lvalues, not std::vector<bool>'s proxies) under the standard orderings.
template <class It, class Comp>
inline constexpr bool branchless_sort =
    std::is_arithmetic_v<std::iter_value_t<It>>&&
        std::is_same_v<std::iter_reference_t<It>, std::iter_value_t<It>&> &&
    (std::is_same_v<Comp, std::less<>> || std::is_same_v<Comp, std::less<std::iter_value_t<It>>> ||
     std::is_same_v<Comp, std::greater<>> ||
     std::is_same_v<Comp, std::greater<std::iter_value_t<It>>> ||
     std::is_same_v<Comp, std::ranges::less> || std::is_same_v<Comp, std::ranges::greater>);

// Elements classified per block by the branchless partition (offsets fit an unsigned char).
inline constexpr std::size_t partition_block = 64;
// The branchless serial sort leaves pieces of at most this many elements to std::sort
// (which sorts them by insertion).
inline constexpr std::size_t small_sort = 32;

// Partitions [lo, hi) (hi - lo >= 2) around the pivot first[lo] without a branch on any
// comparison: blocks of up to 64 elements from each end record, as offsets, which of their
// elements are on the wrong side (left: not less than the pivot; right: not greater), then
// the recorded pairs trade places in one cycle of moves (one temporary). Equal keys count
// as misplaced on both sides, so many duplicates still split in the middle, as in Hoare's
// partition. Returns p with [lo, p) <= first[p] == pivot <= (p, hi).
// Only for branchless_sort types: nothing here can throw.
template <class It, class Comp>
std::size_t block_partition(It first, std::size_t lo, std::size_t hi, Comp& comp) noexcept {
  using V = std::iter_value_t<It>;
  using D = std::iter_difference_t<It>;
  const V pivot = first[static_cast<D>(lo)];
  It l = first + static_cast<D>(lo + 1);  // [l, r): not classified yet
  It r = first + static_cast<D>(hi);
  alignas(64) unsigned char offsets_l[partition_block];
  alignas(64) unsigned char offsets_r[partition_block];
  It base_l = l;  // offsets_l count from here up, offsets_r from base_r down
  It base_r = r;
  std::size_t num_l = 0, num_r = 0, start_l = 0, start_r = 0;
  while (l < r) {
    // Classify a new block on each side whose last block has no misplaced element left.
    const std::size_t unknown = static_cast<std::size_t>(r - l);
    const std::size_t left_split = num_l == 0 ? (num_r == 0 ? unknown / 2 : unknown) : 0;
    const std::size_t right_split = num_r == 0 ? unknown - left_split : 0;
    if (left_split >= partition_block) {
      // Unrolled: the loop's own increment and branch would be a third of its instructions.
#pragma GCC unroll 8
      for (std::size_t i = 0; i < partition_block; ++i) {
        offsets_l[num_l] = static_cast<unsigned char>(i);
        num_l += !comp(l[static_cast<D>(i)], pivot);
      }
      l += static_cast<D>(partition_block);
    } else {
      for (std::size_t i = 0; i < left_split; ++i) {
        offsets_l[num_l] = static_cast<unsigned char>(i);
        num_l += !comp(l[static_cast<D>(i)], pivot);
      }
      l += static_cast<D>(left_split);
    }
    if (right_split >= partition_block) {
#pragma GCC unroll 8
      for (std::size_t i = 1; i <= partition_block; ++i) {
        offsets_r[num_r] = static_cast<unsigned char>(i);
        num_r += !comp(pivot, r[-static_cast<D>(i)]);
      }
      r -= static_cast<D>(partition_block);
    } else {
      for (std::size_t i = 1; i <= right_split; ++i) {
        offsets_r[num_r] = static_cast<unsigned char>(i);
        num_r += !comp(pivot, r[-static_cast<D>(i)]);
      }
      r -= static_cast<D>(right_split);
    }
    // Misplaced pairs trade places. As many on both sides (a descending input, all keys
    // equal): pair by pair, so a descending run comes out ascending, as from Hoare's
    // partition (pdqsort does the same). Else in one cycle a0 <- b0 <- a1 <- b1 ... <- a0,
    // one move per element instead of a swap's three.
    const std::size_t num = std::min(num_l, num_r);
    if (num_l == num_r) {
      for (std::size_t k = 0; k < num; ++k)
        std::iter_swap(base_l + offsets_l[start_l + k], base_r - offsets_r[start_r + k]);
    } else if (num != 0) {
      It a = base_l + offsets_l[start_l];
      It b = base_r - offsets_r[start_r];
      V held = std::move(*a);
      *a = std::move(*b);
      for (std::size_t k = 1; k < num; ++k) {
        a = base_l + offsets_l[start_l + k];
        *b = std::move(*a);
        b = base_r - offsets_r[start_r + k];
        *a = std::move(*b);
      }
      *b = std::move(held);
    }
    num_l -= num;
    num_r -= num;
    start_l += num;
    start_r += num;
    if (num_l == 0) {
      start_l = 0;
      base_l = l;
    }
    if (num_r == 0) {
      start_r = 0;
      base_r = r;
    }
  }
  // Everything is classified; one side may still hold misplaced elements of its last block.
  // They go to the inner end of that side, highest offset first (pdqsort's last step).
  if (num_l != 0) {
    while (num_l != 0) {
      --num_l;
      --r;
      std::iter_swap(base_l + offsets_l[start_l + num_l], r);
    }
    l = r;
  } else {
    while (num_r != 0) {
      --num_r;
      std::iter_swap(base_r - offsets_r[start_r + num_r], l);
      ++l;
    }
  }
  // [lo + 1, l) <= pivot <= [l, hi): the pivot goes between.
  const std::size_t p = static_cast<std::size_t>(l - first) - 1;
  first[static_cast<D>(lo)] = std::move(first[static_cast<D>(p)]);
  first[static_cast<D>(p)] = pivot;
  return p;
}

// The parallel quicksort behind sort.
template <class It, class Comp>
struct quick_sorter {
  loop_state& st;
  It first;
  Comp& comp;
  std::size_t leaf;  // pieces of at most this many elements are sorted by std::sort

  // The median of three elements' positions by comp.
  std::size_t median3(std::size_t a, std::size_t b, std::size_t c) const {
    if (comp(first[a], first[b])) {
      if (comp(first[b], first[c])) return b;
      return comp(first[a], first[c]) ? c : a;
    }
    if (comp(first[a], first[c])) return a;
    return comp(first[b], first[c]) ? c : b;
  }

  // The pseudo-median of nine of [lo, hi) (n >= 16): medians of three spread-out triples.
  std::size_t median9(std::size_t lo, std::size_t hi) const {
    const std::size_t n = hi - lo, e = n / 8, m = lo + n / 2;
    return median3(median3(lo, lo + e, lo + 2 * e), median3(m - e, m, m + e),
                   median3(hi - 1 - 2 * e, hi - 1 - e, hi - 1));
  }

  // True when nine evenly spread samples of [lo, hi) are in order, ascending or
  // descending, equal keys included: a sorted, reversed, organ-pipe or constant stretch,
  // whose comparison branches predict well. Hoare's partition and std::sort are then
  // cheaper than the branchless partition (1.5 to 2 times on 10^7 reversed or equal ints);
  // nine random keys are in order with probability 2/9!. The first sample is lo + 1: Hoare's
  // partition leaves its pivot, the left part's largest key, at lo.
  bool samples_in_order(std::size_t lo, std::size_t hi) const {
    const std::size_t e = (hi - lo) / 8;
    bool ascending = true, descending = true;
    for (std::size_t k = 1, prev = lo + 1; k <= 8; ++k) {
      const std::size_t at = k == 8 ? hi - 1 : lo + k * e;
      ascending = ascending && !comp(first[at], first[prev]);
      descending = descending && !comp(first[prev], first[at]);
      prev = at;
    }
    return ascending || descending;
  }

  // A leaf of a branchless_sort: the same quicksort, serial (the smaller part recursively,
  // the larger in the loop, so the stack stays log2 deep), std::sort below small_sort
  // elements, on an ordered stretch, or once the pivots kept being bad.
  void sort_serially(std::size_t lo, std::size_t hi, unsigned bad_pivots_left) noexcept {
    while (hi - lo > small_sort && bad_pivots_left != 0) {
      const std::size_t n = hi - lo;
      if (n > 128 && samples_in_order(lo, hi)) break;
      std::iter_swap(first + lo,
                     first + (n > 128 ? median9(lo, hi) : median3(lo, lo + n / 2, hi - 1)));
      const std::size_t p = block_partition(first, lo, hi, comp);
      if (std::max(p - lo, hi - p - 1) > n - n / 8) --bad_pivots_left;
      if (p - lo < hi - p - 1) {
        sort_serially(lo, p, bad_pivots_left);
        lo = p + 1;
      } else {
        sort_serially(p + 1, hi, bad_pivots_left);
        hi = p;
      }
    }
    std::sort(first + lo, first + hi, comp);
  }

  void sort(std::size_t lo, std::size_t hi, unsigned bad_pivots_left) noexcept {
    st.run_user_code(lo, [&] {
      if (st.frame.cancelled()) {
        st.note_skipped();
        return;
      }
      const std::size_t n = hi - lo;
      if (n <= leaf || bad_pivots_left == 0) {
        if constexpr (branchless_sort<It, Comp>) {
          sort_serially(lo, hi, bad_pivots_left);
        } else {
          std::sort(first + lo, first + hi, comp);
        }
        return;
      }
      const std::size_t pivot_at = median9(lo, hi);
      if constexpr (branchless_sort<It, Comp>) {
        if (!samples_in_order(lo, hi)) {
          std::iter_swap(first + lo, first + pivot_at);
          const std::size_t p = block_partition(first, lo, hi, comp);
          // A part of over 7/8 of the range counts as a bad pivot (introsort's depth limit).
          if (std::max(p - lo, hi - p - 1) > n - n / 8) --bad_pivots_left;
          fork_pair(
              st.frame, [&] { sort(lo, p, bad_pivots_left); },
              [&] { sort(p + 1, hi, bad_pivots_left); }, st.label, p + 1, hi);
          return;
        }
      }
      // The pivot goes to lo and stays there. Hoare's partition of (lo, hi) then needs no
      // bounds checks (libstdc++'s unguarded partition): the scan up stops at the largest
      // sample of the pivot's triple at the latest (it is >= the pivot and in the range),
      // the scan down at the pivot itself. Equal keys stop both scans, so many duplicates
      // still split in the middle.
      std::iter_swap(first + lo, first + pivot_at);
      const auto& pivot = first[lo];
      It up = first + lo + 1, down = first + hi;
      while (true) {
        while (comp(*up, pivot)) ++up;
        --down;
        while (comp(pivot, *down)) --down;
        if (!(up < down)) break;
        std::iter_swap(up, down);
        ++up;
      }
      const std::size_t a = static_cast<std::size_t>(up - first);  // [lo, a) <= pivot <= [a, hi)
      // A part of over 7/8 of the range counts as a bad pivot (introsort's depth limit).
      if (std::max(a - lo, hi - a) > n - n / 8) --bad_pivots_left;
      fork_pair(
          st.frame, [&] { sort(lo, a, bad_pivots_left); }, [&] { sort(a, hi, bad_pivots_left); },
          st.label, a, hi);
    });
  }
};

template <bool Stable, class Range, class Comp>
void sort_on(pool& p, Range& range, Comp& comp, const loop_options& o) {
  auto first = std::ranges::begin(range);
  using It = decltype(first);
  using V = std::iter_value_t<It>;
  const std::size_t n = range_count(range);
  auto serial = [&] {
    if constexpr (Stable) {
      std::stable_sort(first, first + static_cast<std::iter_difference_t<It>>(n), comp);
    } else {
      std::sort(first, first + static_cast<std::iter_difference_t<It>>(n), comp);
    }
  };
  auto run = [&] {
    loop_state st(o, Stable ? "stable_sort" : "sort");
    const std::size_t workers = pool_size(p);
    // Leaves: 4 per worker (a worker slowed by the OS or by other work leaves a quarter of
    // its share, not all of it, to wait for; each extra merge level is one cheap parallel
    // pass); static_split: one per worker; a user grain: n / grain.
    std::size_t wanted = workers == 1 ? 1 : 4 * workers;
    if (o.split == partition::static_split)
      wanted = workers;
    else if (o.grain != 0)
      wanted = (n + o.grain - 1) / o.grain;
    unsigned depth = 0;
    while ((std::size_t{1} << depth) < wanted && (n >> (depth + 1)) >= min_sort_leaf) ++depth;
    if constexpr (!Stable) {
      if (n >= 2 * min_sort_leaf) {
        const std::size_t leaf = o.grain != 0 ? o.grain : min_sort_leaf;
        quick_sorter<It, Comp> sorter{st, first, comp, leaf};
        current_node_guard guard(&st.frame);
        sorter.sort(0, n, 2 * static_cast<unsigned>(std::bit_width(n)));
        st.finish(n);
        return;
      }
      depth = 0;
    }
    // Without a default constructor the buffer is built by moving each element out and
    // back (below), in noexcept pieces: neither move may throw.
    constexpr bool raw_buffer =
        std::is_nothrow_move_constructible_v<V> && std::is_nothrow_move_assignable_v<V>;
    if constexpr (!std::is_default_constructible_v<V> && !raw_buffer) depth = 0;
    if (depth == 0) {
      if (st.frame.cancelled()) {
        st.note_skipped();
      } else {
        st.run_user_code(0, serial);
      }
      st.finish(n);
      return;
    }
    if constexpr (std::is_default_constructible_v<V>) {
      // Default-initialised: no zeroing pass for trivial types. V's default constructor is
      // user code (and the allocation may fail): a throw fails the sort, named [0].
      std::unique_ptr<V[]> buffer;
      if (!st.run_user_code(0, [&] { buffer.reset(new V[n]); })) {
        st.finish(n);  // throws
        return;
      }
      merge_sorter<Stable, It, V, Comp> sorter{st, first, buffer.get(), comp};
      {
        current_node_guard guard(&st.frame);
        sorter.sort(0, n, depth, false);
      }
      st.finish(n);
    } else if constexpr (raw_buffer) {
      // Raw storage for n elements; the merges assign into it, so every slot first gets an
      // object: element i is moved in and straight back (two moves per element, in
      // parallel, neither of which can throw), leaving a moved-from V there.
      std::optional<built_buffer<V>> storage;
      if (!st.run_user_code(0, [&] { storage.emplace(n); })) {  // out of memory
        st.finish(n);                                           // throws
        return;
      }
      built_buffer<V>& buffer = *storage;
      auto build = [&](std::size_t lo, std::size_t hi) noexcept {
        for (std::size_t i = lo; i < hi; ++i) {
          auto& x = first[static_cast<std::iter_difference_t<It>>(i)];
          ::new (static_cast<void*>(buffer.data + i)) V(std::move(x));
          x = std::move(buffer.data[i]);
        }
      };
      // A cancel only stops the cutting (split_run); every piece still builds all of its
      // slots (for_pieces runs the whole body), so all n exist for the destructor.
      split_for(st.frame, n, splitter::adaptive(workers), build, st.label);
      buffer.built = n;
      merge_sorter<Stable, It, V, Comp> sorter{st, first, buffer.data, comp};
      {
        current_node_guard guard(&st.frame);
        sorter.sort(0, n, depth, false);
      }
      st.finish(n);
    }
  };
  run_loop(p, o, run);
}

template <class Comp, class Range>
inline constexpr bool comparator_for =
    std::is_invocable_r_v<bool, Comp&, std::ranges::range_reference_t<Range>,
                          std::ranges::range_reference_t<Range>>;

}  // namespace detail

/// Sorts range in place by comp; the order of equivalent elements is not kept.
///
/// A parallel quicksort: a pseudo-median of nine as the pivot, the two parts sorted as a
/// forked pair, std::sort on pieces of at most 8192 elements (or loop_options::grain) or
/// when the pivots keep being bad (introsort's depth limit). No buffer. Ranges under 16384
/// elements are sorted by std::sort in one piece. Numbers under std::less, std::greater,
/// std::ranges::less or std::ranges::greater are partitioned without branching on the
/// comparisons (BlockQuicksort), the pieces too, down to 32 elements.
/// Requirements: range is a random access, sized range of swappable, move assignable
/// elements; comp is a strict weak ordering callable as comp(element, element) -> bool,
/// safe to call concurrently; it takes no stop token. sort(range, opts) is not an
/// overload: pass a comparator first, `sort(v, std::less<>{}, opts)`.
/// Guarantees, thread safety and memory ordering: as for_each_index(). A comparator that
/// throws fails the sort (named by the first index of its piece), and so does a throwing
/// move or swap of the elements; the range then holds valid objects, a permutation of
/// what it held but for at most one moved-from element (what a swap or a std::sort leaf
/// held aside when the throw came: std::sort's basic guarantee). A cancelled sort (or one
/// that ran out of time) leaves the range a permutation of what it held.
/// Example:
/// @code
/// cohort::sort(v);  // std::less<>
/// cohort::sort(v, std::greater<>{}, {.name = "scores"});
/// @endcode
template <detail::loop_range R, class Compare = std::less<>>
requires detail::comparator_for<Compare, R>
void sort(R&& range, Compare comp = {}, loop_options o = {}) {
  detail::sort_on<false>(detail::ambient_pool(), range, comp, o);
}
/// As sort(range, comp, o), on the scheduler s.
template <detail::loop_range R, class Compare = std::less<>>
requires detail::comparator_for<Compare, R>
void sort(scheduler& s, R&& range, Compare comp = {}, loop_options o = {}) {
  detail::sort_on<false>(detail::pool_of(s), range, comp, o);
}

/// Sorts range in place by comp, keeping the order of equivalent elements.
///
/// A parallel merge sort: the range is cut into a power-of-two number of contiguous leaves
/// (the next power of two >= 4 x workers, one per worker with partition::static_split, or
/// size / grain; leaves of at least 8192 elements), sorted in parallel by
/// std::stable_sort, then merged pairwise level by level through one buffer of size(range)
/// elements, each merge itself split in parallel. On one worker, for a short range, or for
/// an element type that is neither default constructible nor nothrow movable (move
/// construction and assignment both noexcept: the buffer is built from one or the other),
/// the range is sorted by std::stable_sort in one piece.
/// Requirements: as sort(), and the elements are move constructible.
/// Guarantees, thread safety and memory ordering: as sort(); a default constructor that
/// throws while the buffer is built fails the sort too (named [0]). A failed stable_sort
/// stops comparing but still moves every run back from its buffer; what the failing
/// std::stable_sort leaf or merge had not placed yet is lost (moved-from objects in the
/// range in its place, possibly thousands).
/// Example:
/// @code
/// cohort::stable_sort(people, [](const person& a, const person& b) { return a.age < b.age; },
///                     {.name = "people"});
/// @endcode
template <detail::loop_range R, class Compare = std::less<>>
requires detail::comparator_for<Compare, R>
void stable_sort(R&& range, Compare comp = {}, loop_options o = {}) {
  detail::sort_on<true>(detail::ambient_pool(), range, comp, o);
}
/// As stable_sort(range, comp, o), on the scheduler s.
template <detail::loop_range R, class Compare = std::less<>>
requires detail::comparator_for<Compare, R>
void stable_sort(scheduler& s, R&& range, Compare comp = {}, loop_options o = {}) {
  detail::sort_on<true>(detail::pool_of(s), range, comp, o);
}

}  // namespace cohort
