// SPDX-License-Identifier: Apache-2.0
// Parallel prefix sums: inclusive_scan, exclusive_scan.
//
// partition::deterministic: two passes over blocks whose size depends on (n, grain) alone
// (the same bits for every worker count). Pass 1: block 0 is scanned for good (its carry
// is known), every later block but the last is only reduced. Then the carries are chained
// on this thread, block by block. Pass 2: every block but the first is scanned from its
// carry. Otherwise (scan_following): 16 blocks per worker (static_split: 1), scanned for
// good in one pass as long as each starts after its predecessors, reduced first only when
// a thief starts one early; a pool of one worker scans serially in one pass. Each element
// is read once or twice and written once; a block is read before it is written, so the
// scan may run in place (out == begin(in)). Values accumulate in the input's value type.
// Every copy, move and assignment of a value (the carries and exclusive_scan's init
// included) runs inside the loop's failure capture: one that throws fails the loop like a
// throwing op (never std::terminate); carries of a type whose moves may throw travel
// boxed on the heap (piece_value), as the pieces hand them on inside noexcept jobs.
// Example:
//   cohort::inclusive_scan(v, v.begin(), std::plus<>{});   // in place
#pragma once

#include <atomic>
#include <functional>
#include <numeric>

#include <cohort/algorithm/loop_core.hpp>

namespace cohort {
namespace detail {

// Below this many elements per block a parallel scan costs more than it saves.
inline constexpr std::size_t min_scan_block = 16384;

template <bool Inclusive, class In, class Out, class V, class Op>
struct scan_blocks {
  loop_state& st;
  In in;
  Out out;
  Op& op;
  std::size_t n;
  std::size_t block;  // elements per block (the last may be shorter)
  std::size_t blocks;

  std::size_t begin_of(std::size_t b) const noexcept { return b * block; }
  std::size_t end_of(std::size_t b) const noexcept { return std::min(n, (b + 1) * block); }

  // Scans [lo, hi) from a copy of `carry` (null: an inclusive scan's first block);
  // returns the carry after the block, or nothing if it was cancelled or failed. Every
  // copy, move and assignment of V (the carry's copy included) runs inside the capture:
  // a throw fails the element at i (the block's first index for the carry's copy).
  piece_value<V> scan(std::size_t lo, std::size_t hi, const V* carry) noexcept {
    std::size_t i = lo;
    piece_value<V> after;
    st.run_user_code(i, [&] {
      if (st.frame.cancelled()) {
        st.note_skipped();
        return;
      }
      // Inclusive, block 0: the first element is its own prefix.
      V acc = carry != nullptr ? V(*carry) : V(element_at(in, i));
      if (carry == nullptr) {
        element_at(out, i) = acc;
        ++i;
      }
      while (i < hi) {
        if (st.frame.cancelled()) {
          st.note_skipped();
          return;
        }
        const std::size_t end = hi - i > cancel_check_stride ? i + cancel_check_stride : hi;
        for (; i < end; ++i) {
          if constexpr (Inclusive) {
            acc = op(std::move(acc), element_at(in, i));
            element_at(out, i) = acc;
          } else {
            V x(element_at(in, i));  // read before the write: out may be in
            element_at(out, i) = acc;
            acc = op(std::move(acc), std::move(x));
          }
        }
      }
      i = hi - 1;  // a throw in acc's move is named by the block's last element
      after.emplace(std::move(acc));
    });
    return after;  // moves a pointer, or a V whose move cannot throw
  }

  // The reduction of [lo, hi) (non-empty), or nothing.
  piece_value<V> reduce(std::size_t lo, std::size_t hi) noexcept {
    std::size_t i = lo;
    piece_value<V> total;
    st.run_user_code(i, [&] {
      if (st.frame.cancelled()) {
        st.note_skipped();
        return;
      }
      V acc(element_at(in, i));
      ++i;
      while (i < hi) {
        if (st.frame.cancelled()) {
          st.note_skipped();
          return;
        }
        const std::size_t end = hi - i > cancel_check_stride ? i + cancel_check_stride : hi;
        for (; i < end; ++i) acc = op(std::move(acc), element_at(in, i));
      }
      i = hi - 1;  // as in scan()
      total.emplace(std::move(acc));
    });
    return total;
  }
};

// The scan of partition::adaptive and static_split: one pass over the blocks where no
// thief helps, two where one does (oneTBB's parallel_scan does the same). Blocks
// [0, frontier) are scanned for good, in order: a block whose predecessors are all done
// when it starts is scanned from their carry and moves the frontier on. A block a thief
// starts ahead of the frontier is only reduced; after every block joined, the carries of
// those are chained and they are scanned in a second parallel pass. On one busy worker
// every block meets the frontier: a single serial pass. (The grouping of the sums then
// depends on who stole what; partition::deterministic keeps its fixed two passes.)
// init: the carry into block 0 (null: inclusive).
template <class Blocks, class V>
void scan_following(Blocks& s, loop_state& st, splitter sp, const V* init) {
  const std::size_t blocks = s.blocks;
  const std::size_t n = s.n;
  std::vector<piece_value<V>> carries(blocks);  // final blocks: the carry after them
  std::vector<piece_value<V>> totals(blocks);   // reduced blocks: their own total
  // Blocks [0, frontier) are final and carries[0, frontier) written. Only the worker of
  // block `frontier` moves it: release publishes carries[b] with it; the acquire load
  // by block b + 1's worker reads it. A failed or cancelled block stops it for good.
  std::atomic<std::size_t> frontier{0};
  auto pass1 = [&](std::size_t lo, std::size_t hi) noexcept {
    for (std::size_t b = lo; b < hi; ++b) {
      if (frontier.load(std::memory_order_acquire) == b) {
        // scan() copies the carry in its capture (carries[b - 1] is read again below).
        const V* from = b == 0 ? init : &*carries[b - 1];
        carries[b] = s.scan(s.begin_of(b), s.end_of(b), from);
        if (carries[b]) frontier.store(b + 1, std::memory_order_release);
      } else {
        totals[b] = s.reduce(s.begin_of(b), s.end_of(b));
      }
    }
  };
  split_for(st.frame, blocks, sp, pass1, st.label);
  st.finish(n);  // every block joined: what they wrote is visible (completion words)
  const std::size_t done = frontier.load(std::memory_order_relaxed);
  if (done == blocks) return;
  // carry_in[b] for the reduced blocks [done, blocks), chained in order on this thread.
  std::vector<piece_value<V>> carry_in(blocks);
  carry_in[done] = std::move(carries[done - 1]);  // done >= 1: block 0 always meets it
  for (std::size_t b = done + 1; b < blocks; ++b) {
    const std::size_t at = s.begin_of(b - 1);
    if (!st.run_user_code(
            at, [&] { carry_in[b].emplace(s.op(*carry_in[b - 1], std::move(*totals[b - 1]))); }))
      st.finish(n);
  }
  auto pass2 = [&](std::size_t lo, std::size_t hi) noexcept {
    for (std::size_t b = lo; b < hi; ++b)
      s.scan(s.begin_of(done + b), s.end_of(done + b), &*carry_in[done + b]);
  };
  split_for(st.frame, blocks - done, sp, pass2, st.label);
  st.finish(n);
}

// init: exclusive_scan's init (null: inclusive), converted to V inside the loop.
template <bool Inclusive, class Range, class O, class T, class Op>
O scan_on(pool& p, Range& range, O out, const T* init, Op& op, const loop_options& o) {
  using V = std::ranges::range_value_t<Range>;
  static_assert(writable_in_place<O>,
                "cohort's scans need a random access output iterator to distinct objects "
                "(std::vector<bool>::iterator is not one)");
  const std::size_t n = range_count(range);
  const auto end_out = out + static_cast<std::iter_difference_t<O>>(n);
  if (n == 0) return end_out;
  auto in = std::ranges::begin(range);
  auto run = [&] {
    loop_state st(o, Inclusive ? "inclusive_scan" : "exclusive_scan");
    const std::size_t workers = pool_size(p);
    std::size_t block;
    if (o.split == partition::deterministic) {
      block = o.grain != 0 ? o.grain : std::max(min_scan_block, deterministic_grain(n));
    } else {
      const std::size_t parts = o.split == partition::static_split ? workers : 16 * workers;
      block = workers == 1 ? n : std::max(min_scan_block, (n + parts - 1) / parts);
      if (o.grain != 0 && o.split == partition::adaptive) block = std::min(block, o.grain);
    }
    const std::size_t blocks = (n + block - 1) / block;
    scan_blocks<Inclusive, decltype(in), O, V, Op> s{st, in, out, op, n, block, blocks};
    // exclusive: init becomes a V once, here, as part of the loop (its conversion or copy
    // is V's code: a throw fails element 0, the first block's).
    piece_value<V> init_value;
    if (init != nullptr && !st.run_user_code(0, [&] { init_value.emplace(*init); })) {
      st.finish(n);  // throws: the conversion failed (or observed a cancel)
      return;
    }
    const V* const carry0 = init != nullptr ? &*init_value : nullptr;
    if (blocks == 1) {
      s.scan(0, n, carry0);
      st.finish(n);
      return;
    }
    if (o.split != partition::deterministic) {
      scan_following(s, st,
                     o.split == partition::static_split ? splitter::static_parts(workers)
                                                        : splitter::adaptive(workers),
                     carry0);
      return;
    }
    // Pass 1: block 0 scanned, blocks 1..blocks-2 reduced; totals[b] then carries[b].
    std::vector<piece_value<V>> totals(blocks);
    auto pass1 = [&](std::size_t lo, std::size_t hi) noexcept {
      for (std::size_t b = lo; b < hi; ++b) {
        totals[b] = b == 0 ? s.scan(0, s.end_of(0), carry0) : s.reduce(s.begin_of(b), s.end_of(b));
      }
    };
    split_for(st.frame, blocks - 1, splitter::fixed(1), pass1, st.label);
    st.finish(n);
    // carries[b]: everything before block b (b >= 1), chained in order.
    std::vector<piece_value<V>> carries(blocks);
    carries[1] = std::move(totals[0]);
    for (std::size_t b = 2; b < blocks; ++b) {
      const std::size_t at = s.begin_of(b - 1);
      if (!st.run_user_code(
              at, [&] { carries[b].emplace(op(*carries[b - 1], std::move(*totals[b - 1]))); }))
        st.finish(n);
    }
    auto pass2 = [&](std::size_t lo, std::size_t hi) noexcept {
      for (std::size_t b = lo; b < hi; ++b)
        s.scan(s.begin_of(b + 1), s.end_of(b + 1), &*carries[b + 1]);
    };
    split_for(st.frame, blocks - 1, splitter::fixed(1), pass2, st.label);
    st.finish(n);
  };
  run_loop(p, o, run);
  return end_out;
}

}  // namespace detail

/// Writes out[i] = in[0] op in[1] op ... op in[i] for every i and returns out advanced by
/// the size of in.
///
/// Two passes over blocks of the input: the first block is scanned and every later one but
/// the last reduced; the carries are chained on one thread in block order; then every
/// later block is scanned from its carry. Values
/// accumulate in the input's value type V. A block is read before it is written, so the
/// scan may run in place (out == std::ranges::begin(in)). With partition::deterministic
/// the blocks depend on (size, grain) alone: the same bits for every worker count and
/// every run. On one worker, or for a short input, the scan runs serially in one pass.
/// Requirements: in is a random access, sized range; out is a random access iterator to
/// distinct, assignable objects (not a proxy such as std::vector<bool>::iterator: a
/// compile error) with room for size(in) of them; op is associative (not necessarily
/// commutative), callable as op(V, element) and op(V, V) with a result convertible to V,
/// safe to call concurrently, and takes no stop token.
/// Guarantees, thread safety and memory ordering: as for_each_index(); a failure is named
/// by the index of the element whose op threw (when chaining carries: the first index of
/// the block whose total was being added). V's own copies, moves and assignments are user
/// code as op is: one that throws fails the scan the same way, named by the element being
/// written (a block's first index for the copy of its carry, its last for the move that
/// keeps the carry after it); exclusive_scan's conversion of init to V, by 0. When the
/// scan throws, out's contents are unspecified (each out[i] a valid V). V's destructor
/// must not throw.
/// Example:
/// @code
/// cohort::inclusive_scan(v, v.begin());  // in place, std::plus<>
/// @endcode
template <detail::loop_range R, class O, class Op = std::plus<>>
O inclusive_scan(R&& in, O out, Op op = {}, loop_options o = {}) {
  using V = std::ranges::range_value_t<R>;
  return detail::scan_on<true>(detail::ambient_pool(), in, out, static_cast<const V*>(nullptr), op,
                               o);
}
/// As inclusive_scan(in, out, op, o), on the scheduler s.
template <detail::loop_range R, class O, class Op = std::plus<>>
O inclusive_scan(scheduler& s, R&& in, O out, Op op = {}, loop_options o = {}) {
  using V = std::ranges::range_value_t<R>;
  return detail::scan_on<true>(detail::pool_of(s), in, out, static_cast<const V*>(nullptr), op, o);
}

/// Writes out[i] = init op in[0] op ... op in[i-1] for every i (out[0] = init) and returns
/// out advanced by the size of in.
///
/// As inclusive_scan() in every other respect; init is converted to the input's value
/// type first.
/// Example:
/// @code
/// std::vector<std::size_t> offsets(sizes.size());
/// cohort::exclusive_scan(sizes, offsets.begin(), std::size_t{0});
/// @endcode
template <detail::loop_range R, class O, class T, class Op = std::plus<>>
O exclusive_scan(R&& in, O out, T init, Op op = {}, loop_options o = {}) {
  return detail::scan_on<false>(detail::ambient_pool(), in, out, &std::as_const(init), op, o);
}
/// As exclusive_scan(in, out, init, op, o), on the scheduler s.
template <detail::loop_range R, class O, class T, class Op = std::plus<>>
O exclusive_scan(scheduler& s, R&& in, O out, T init, Op op = {}, loop_options o = {}) {
  return detail::scan_on<false>(detail::pool_of(s), in, out, &std::as_const(init), op, o);
}

}  // namespace cohort
