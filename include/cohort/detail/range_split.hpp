// SPDX-License-Identifier: Apache-2.0
// The one range splitter behind gather(range) and the parallel algorithms.
//
// A range [lo, hi) of indices is cut in two, the right half pushed on the worker's own
// deque (a job on this frame: nothing is allocated), the left half run here, then the
// right half popped back and run here, or, if a thief took it, waited for. Each piece
// returns a partial result (nothing for a loop, a partial sum for a reduction) and the
// two halves' results are combined in index order, so a reduction never needs a
// commutative operation.
//
// When to stop cutting is the splitter's decision (see `splitter`):
//   adaptive      rayon's adaptive splitting: cut about log2(workers) levels, then stop,
//                 unless the piece was stolen. A stolen piece proves a thief was hungry, so
//                 it starts over with `workers` cuts. Balanced loops end with a few big
//                 pieces per worker (no per-piece overhead to tune away), unbalanced ones
//                 keep being cut where the work is. No grain to choose.
//   static_split  `parts` contiguous pieces of (nearly) equal length, one per worker.
//   fixed         halves until a piece holds at most `grain` elements: the tree depends
//                 on (n, grain) alone, so reductions give the same bits for any worker
//                 count (partition::deterministic).
//
// Cancellation: a piece checks its frame before cutting; a leaf checks it every
// cancel_check_stride elements (the helper for_strides) so the loop in between stays
// tight enough to vectorize.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <optional>
#include <utility>

#include <cohort/detail/cancel_node.hpp>
#include <cohort/detail/completion.hpp>
#include <cohort/detail/fork_join.hpp>
#include <cohort/detail/job.hpp>
#include <cohort/detail/runtime.hpp>

namespace cohort::detail {

// How many elements a leaf runs between two cancellation checks. Measured at -O3 on a
// 32-flop element: a check per element costs 2.2x tbb::parallel_for, a check per 64
// elements 1.0x. After a cancel, each running leaf may still start up to this many.
inline constexpr std::size_t cancel_check_stride = 64;

// A per-thread address: a piece run by a thread other than the one that cut it was stolen.
inline constinit thread_local char thread_tag = 0;
inline const void* this_thread_tag() noexcept {
  return &thread_tag;
}

struct splitter {
  enum class kind : unsigned char { adaptive, static_split, fixed };

  static splitter adaptive(std::size_t workers, std::size_t grain = 0) noexcept {
    return {kind::adaptive, workers, grain, workers};
  }
  static splitter static_parts(std::size_t parts) noexcept {
    return {kind::static_split, std::max<std::size_t>(1, parts), 0, parts};
  }
  static splitter fixed(std::size_t grain) noexcept {
    return {kind::fixed, 0, std::max<std::size_t>(1, grain), 0};
  }

  // Decides whether [lo, hi) is cut. On true, `mid` is the cut, `right` the splitter of
  // [mid, hi) and *this the one of [lo, mid).
  bool split(std::size_t lo, std::size_t hi, bool stolen, std::size_t& mid,
             splitter& right) noexcept {
    const std::size_t len = hi - lo;
    if (len < 2) return false;
    switch (split_kind) {
      case kind::fixed:
        if (len <= grain) return false;
        mid = lo + len / 2;
        right = *this;
        return true;
      case kind::static_split: {
        if (budget < 2) return false;
        const std::size_t left_parts = budget / 2;
        // len * left_parts / budget without overflow.
        mid = lo + len / budget * left_parts + len % budget * left_parts / budget;
        if (mid == lo || mid == hi) return false;
        right = *this;
        right.budget = budget - left_parts;
        budget = left_parts;
        return true;
      }
      case kind::adaptive:
      default:
        if (grain != 0 && len > grain) {
          // A user grain caps the pieces; the adaptive budget still decides below it.
        } else if (stolen) {
          budget = std::max(workers, budget / 2);
        } else if (budget > 0) {
          budget /= 2;
        } else {
          return false;
        }
        mid = lo + len / 2;
        right = *this;
        return true;
    }
  }

  kind split_kind;
  std::size_t budget;   // adaptive: cuts left before pieces stop; static: parts to make
  std::size_t grain;    // fixed: most elements per piece; adaptive: 0 or the user's cap
  std::size_t workers;  // adaptive: the budget a stolen piece starts over with
};

// Work describes one split computation:
//   using result_type = ...;                       (movable)
//   scope_node& frame;                             (cancellation; current_node of pieces)
//   result_type leaf(std::size_t lo, std::size_t hi) noexcept;
//   result_type combine(result_type&& left, result_type&& right, std::size_t mid) noexcept;
template <class Work>
typename Work::result_type split_run(Work& w, std::size_t lo, std::size_t hi, splitter sp,
                                     bool stolen);

template <class Work>
struct split_job : job {
  using result_type = typename Work::result_type;
  split_job(Work& w, std::size_t l, std::size_t h, splitter s) noexcept
      : job{&type}, work(w), lo(l), hi(h), sp(s), owner(this_thread_tag()) {}

  static void run_stolen(job* j) noexcept {
    auto* self = static_cast<split_job*>(j);
    {
      current_node_guard guard(&self->work.frame);
      const bool stolen = self->owner != this_thread_tag();
      self->result.emplace(split_run(self->work, self->lo, self->hi, self->sp, stolen));
    }
    complete(self->done, 0);  // the last touch: the owner's frame may vanish after this
  }
  // A wait inside a piece may run the pieces it forked (their frame descends from it).
  static const cancel_node* node_of(const job* j) noexcept {
    return &static_cast<const split_job*>(j)->work.frame;
  }
  static constexpr job_type type{&run_stolen, job_kind::range_part, &node_of};

  Work& work;
  std::size_t lo, hi;
  splitter sp;
  const void* owner;
  completion_word done{0};
  std::optional<result_type> result;
};

template <class Work>
typename Work::result_type split_run(Work& w, std::size_t lo, std::size_t hi, splitter sp,
                                     bool stolen) {
  std::size_t mid = lo;
  splitter right_sp = sp;
  if (!w.frame.cancelled() && sp.split(lo, hi, stolen, mid, right_sp)) {
    split_job<Work> right(w, mid, hi, right_sp);
    bool forked = true;
    try {
      push_local(&right);
    } catch (...) {  // out of memory growing the deque: run both halves here
      forked = false;
    }
    auto left = split_run(w, lo, mid, sp, false);
    if (!forked || pop_local_until(&right)) {
      right.result.emplace(split_run(w, mid, hi, right_sp, false));
    } else {
      wait_complete(right.done);
    }
    return w.combine(std::move(left), std::move(*right.result), mid);
  }
  return w.leaf(lo, hi);
}

// Runs the split computation over [0, n) on the calling worker (which must be a worker
// of the pool) with the frame as the current node; returns the combined result.
template <class Work>
typename Work::result_type split_range(Work& w, std::size_t n, splitter sp) {
  current_node_guard guard(&w.frame);
  return split_run(w, 0, n, sp, false);
}

// For loops: a Work whose pieces only run body(lo, hi) (which never throws).
struct no_result {};
template <class Body>
struct for_pieces {
  using result_type = no_result;
  scope_node& frame;
  Body& body;
  no_result leaf(std::size_t lo, std::size_t hi) noexcept {
    body(lo, hi);
    return {};
  }
  no_result combine(no_result&&, no_result&&, std::size_t) noexcept { return {}; }
};
template <class Body>
void split_for(scope_node& frame, std::size_t n, splitter sp, Body& body) {
  for_pieces<Body> w{frame, body};
  split_range(w, n, sp);
}

// Runs fn(a, b) over [lo, hi) in strides of `stride`, checking the node's cancellation
// before each; false if it stopped early because of a cancel.
template <class Fn>
bool for_strides(const cancel_node& node, std::size_t lo, std::size_t hi, std::size_t stride,
                 Fn&& fn) {
  for (std::size_t i = lo; i < hi;) {
    if (node.cancelled()) return false;
    const std::size_t end = hi - i > stride ? i + stride : hi;
    fn(i, end);
    i = end;
  }
  return true;
}

// Runs a() here and b() as a forkable job, then joins b (the pair fork of the recursive
// algorithms: merge sort, parallel merge). Both must not throw.
template <class B>
struct pair_job : job {
  pair_job(B& b, scope_node& f) noexcept : job{&type}, fn(b), frame(f) {}
  static void run_stolen(job* j) noexcept {
    auto* self = static_cast<pair_job*>(j);
    {
      current_node_guard guard(&self->frame);
      self->fn();
    }
    complete(self->done, 0);
  }
  static const cancel_node* node_of(const job* j) noexcept {
    return &static_cast<const pair_job*>(j)->frame;
  }
  static constexpr job_type type{&run_stolen, job_kind::range_part, &node_of};
  B& fn;
  scope_node& frame;
  completion_word done{0};
};
template <class A, class B>
void fork_pair(scope_node& frame, A&& a, B&& b) {
  pair_job<std::remove_reference_t<B>> right(b, frame);
  bool forked = true;
  try {
    push_local(&right);
  } catch (...) {
    forked = false;
  }
  a();
  if (!forked || pop_local_until(&right)) {
    b();
  } else {
    wait_complete(right.done);
  }
}

}  // namespace cohort::detail
