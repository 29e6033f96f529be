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
//                 keep being cut where the work is. No grain to choose. A leaf still offers
//                 half of what it has left whenever a steal happened since it began
//                 (run_offering), so the end of a loop never waits on one long leaf.
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
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string_view>
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
  // adaptive without a user grain on a pool with thieves: how many pieces of this split
  // were stolen so far (set by split_range; see run_offering). Null: leaves run whole.
  std::atomic<std::size_t>* steals = nullptr;
};

// run_offering: a leaf runs in segments of about 1/8 of it, none shorter than this.
inline constexpr std::size_t min_offer_segment = 64;

// Writes "label[lo,hi)" (truncated to `capacity` characters) into out; returns its length.
// For dump() and traces: what a stolen piece of a loop is.
inline std::size_t write_piece_name(std::string_view label, std::size_t lo, std::size_t hi,
                                    char* out, std::size_t capacity) noexcept {
  char range[48];
  const int r = std::snprintf(range, sizeof range, "[%zu,%zu)", lo, hi);
  const std::size_t range_length = r > 0 ? static_cast<std::size_t>(r) : 0;
  const std::size_t label_length = std::min(label.size(), capacity);
  std::memcpy(out, label.data(), label_length);
  const std::size_t rest = std::min(range_length, capacity - label_length);
  std::memcpy(out + label_length, range, rest);
  return label_length + rest;
}

// Work describes one split computation:
//   using result_type = ...;                       (movable)
//   scope_node& frame;                             (cancellation; current_node of pieces)
//   result_type leaf(std::size_t lo, std::size_t hi) noexcept;
//   result_type combine(result_type&& left, result_type&& right, std::size_t mid) noexcept;
//   std::string_view label;                        (optional: names stolen pieces)
template <class Work>
typename Work::result_type split_run(Work& w, std::size_t lo, std::size_t hi, splitter sp,
                                     bool stolen);
template <class Work>
typename Work::result_type run_offering(Work& w, std::size_t lo, std::size_t hi, splitter sp);

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
      // relaxed: a hint that thieves are hungry (run_offering); nothing is published by it.
      if (stolen && self->sp.steals != nullptr)
        self->sp.steals->fetch_add(1, std::memory_order_relaxed);
      self->result.emplace(split_run(self->work, self->lo, self->hi, self->sp, stolen));
    }
    complete(self->done, 0);  // the last touch: the owner's frame may vanish after this
  }
  // A wait inside a piece may run the pieces it forked (their frame descends from it).
  static const cancel_node* node_of(const job* j) noexcept {
    return &static_cast<const split_job*>(j)->work.frame;
  }
  static std::size_t describe(const job* j, char* out, std::size_t capacity) noexcept {
    const auto* self = static_cast<const split_job*>(j);
    if constexpr (requires { std::string_view(self->work.label); }) {
      const std::string_view label(self->work.label);
      if (!label.empty()) return write_piece_name(label, self->lo, self->hi, out, capacity);
    }
    return 0;
  }
  static constexpr job_type type{&run_stolen, job_kind::range_part, &node_of, &describe};

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
  if (sp.steals != nullptr) return run_offering(w, lo, hi, sp);
  return w.leaf(lo, hi);
}

// A leaf of the adaptive splitter on a pool with thieves. Its budget ran out, but running
// it whole would let a thief sit idle while this worker still has most of the leaf left
// (the end of a loop, or a worker the OS preempts). So it runs in segments of about 1/8
// and, between two, if a piece of this loop was stolen since the leaf began (thieves are
// hungry: oneTBB's demand check), cuts what is left in two and offers the right half on
// its deque (lazy binary splitting). No steal, no cut: a balanced loop costs one relaxed
// load per segment. Each cut halves the range, so the recursion is at most log2 deep.
template <class Work>
typename Work::result_type run_offering(Work& w, std::size_t lo, std::size_t hi, splitter sp) {
  const std::size_t segment = std::max(min_offer_segment, (hi - lo) / 8);
  // relaxed: a hint (see split_job::run_stolen).
  const std::size_t seen = sp.steals->load(std::memory_order_relaxed);
  std::size_t a = hi - lo > segment ? lo + segment : hi;
  auto result = w.leaf(lo, a);
  while (a < hi) {
    if (hi - a >= 2 * min_offer_segment && sp.steals->load(std::memory_order_relaxed) != seen &&
        !w.frame.cancelled()) {
      splitter rest = sp;
      rest.budget = 1;  // one cut; each half is a leaf that offers again
      return w.combine(std::move(result), split_run(w, a, hi, rest, false), a);
    }
    const std::size_t b = hi - a > segment ? a + segment : hi;
    result = w.combine(std::move(result), w.leaf(a, b), a);
    a = b;
  }
  return result;
}

// Runs the split computation over [0, n) on the calling worker (which must be a worker
// of the pool) with the frame as the current node; returns the combined result.
template <class Work>
typename Work::result_type split_range(Work& w, std::size_t n, splitter sp) {
  current_node_guard guard(&w.frame);
  std::atomic<std::size_t> steals{0};  // outlives every piece: split_run joins them all
  if (sp.split_kind == splitter::kind::adaptive && sp.grain == 0 && sp.workers > 1)
    sp.steals = &steals;
  return split_run(w, 0, n, sp, false);
}

// For loops: a Work whose pieces only run body(lo, hi) (which never throws).
struct no_result {};
template <class Body>
struct for_pieces {
  using result_type = no_result;
  scope_node& frame;
  Body& body;
  std::string_view label;
  no_result leaf(std::size_t lo, std::size_t hi) noexcept {
    body(lo, hi);
    return {};
  }
  no_result combine(no_result&&, no_result&&, std::size_t) noexcept { return {}; }
};
template <class Body>
void split_for(scope_node& frame, std::size_t n, splitter sp, Body& body,
               std::string_view label = {}) {
  for_pieces<Body> w{frame, body, label};
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
// algorithms: merge sort, parallel merge). Both must not throw. A stolen b is named
// "label[lo,hi)" in dump() and traces ("label" when lo == hi).
template <class B>
struct pair_job : job {
  pair_job(B& b, scope_node& f, std::string_view l, std::size_t first, std::size_t last) noexcept
      : job{&type}, fn(b), frame(f), label(l), lo(first), hi(last) {}
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
  static std::size_t describe(const job* j, char* out, std::size_t capacity) noexcept {
    const auto* self = static_cast<const pair_job*>(j);
    if (self->label.empty()) return 0;
    if (self->lo < self->hi)
      return write_piece_name(self->label, self->lo, self->hi, out, capacity);
    const std::size_t length = std::min(self->label.size(), capacity);
    std::memcpy(out, self->label.data(), length);
    return length;
  }
  static constexpr job_type type{&run_stolen, job_kind::range_part, &node_of, &describe};
  B& fn;
  scope_node& frame;
  std::string_view label;
  std::size_t lo, hi;  // what b covers, when it covers a range (lo < hi)
  completion_word done{0};
};
template <class A, class B>
void fork_pair(scope_node& frame, A&& a, B&& b, std::string_view label = {}, std::size_t lo = 0,
               std::size_t hi = 0) {
  pair_job<std::remove_reference_t<B>> right(b, frame, label, lo, hi);
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
