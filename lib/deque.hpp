// SPDX-License-Identifier: Apache-2.0
// The per-worker work-stealing deque.
//
// Algorithm: Chase and Lev, "Dynamic Circular Work-Stealing Deque" (SPAA 2005), in the
// C11 formulation of Le, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
// Work-Stealing for Weak Memory Models" (PPoPP 2013), figure 1.
//
// Ownership is in the types: one `deque_owner` (push and pop at the bottom, used only by
// the worker that owns the deque) and any number of `deque_thief` handles (steal at the
// top). Slots hold a trivially copyable `T` (a pointer) in atomics because a thief reads
// a slot *before* its CAS on `top` validates the read, so the read may race with the
// owner overwriting the slot after a wrap-around; the CAS then fails and the value is
// discarded.
//
// Buffers only grow. A thief may still read from the buffer it loaded after the owner has
// replaced it, so retired buffers stay alive until the deque dies (the total is bounded by
// twice the largest buffer).
//
// ThreadSanitizer does not model standalone fences, so under TSan the two StoreLoad
// fences become seq_cst operations on `bottom`/`top` (the same ordering, expressed in a
// way TSan understands), and the release fence in push becomes a release store.
//
// Atomics come through atomics.hpp (std::atomic itself in a normal build) so that
// tests/model/ can run this very file under the Relacy model checker; each order that
// matters names its site (COHORT_MODEL_ORDER) so a mutation test can weaken it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "atomics.hpp"

#if defined(__SANITIZE_THREAD__)
#define COHORT_DETAIL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COHORT_DETAIL_TSAN 1
#endif
#endif

namespace cohort::detail {

inline constexpr bool under_tsan =
#ifdef COHORT_DETAIL_TSAN
    true;
#else
    false;
#endif

enum class steal_result { stolen, empty, lost_race };

template <class T>
class chase_lev_deque {
  static_assert(std::is_trivially_copyable_v<T>, "slots are atomics of T");

  struct buffer {
    explicit buffer(std::size_t capacity) : mask(capacity - 1), slots(new atomic<T>[capacity]) {}
    std::size_t capacity() const noexcept { return mask + 1; }
    T get(std::int64_t i) const noexcept {
      return slots[static_cast<std::size_t>(i) & mask].load(std::memory_order_relaxed);
    }
    void put(std::int64_t i, T x) noexcept {
      slots[static_cast<std::size_t>(i) & mask].store(x, std::memory_order_relaxed);
    }
    std::size_t mask;
    std::unique_ptr<atomic<T>[]> slots;
  };

 public:
  explicit chase_lev_deque(std::size_t initial_capacity = 256) {
    std::size_t capacity = 2;
    while (capacity < initial_capacity) capacity *= 2;
    buffers_.push_back(std::make_unique<buffer>(capacity));
    array_.store(buffers_.back().get(), std::memory_order_relaxed);
  }
  chase_lev_deque(const chase_lev_deque&) = delete;
  chase_lev_deque& operator=(const chase_lev_deque&) = delete;

  // Owner only.
  void push(T x) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    buffer* a = array_.load(std::memory_order_relaxed);
    // The owner's last acquired reading of top is a lower bound (top never decreases), so
    // room by it is room. (pop's reading of top is not an acquire, so it does not refresh
    // this one.) Only a deque that looks full reads top again:
    // top's line moves to each thief's core at its steal, and reading it on every push
    // cost the pusher a cache miss per steal while a thief kept pace with it.
    if (b - top_seen_ > static_cast<std::int64_t>(a->capacity()) - 1) {
      // acquire: pairs with the thieves' CAS on top, so a slot a thief took is free to
      // reuse. The stale reading that let earlier pushes skip this was acquired the same
      // way, and it covered only slots below it.
      top_seen_ =
          top_.load(COHORT_MODEL_ORDER("deque.push.top_acquire", std::memory_order_acquire));
      if (b - top_seen_ > static_cast<std::int64_t>(a->capacity()) - 1) a = grow(a, b, top_seen_);
    }
    a->put(b, x);
    if constexpr (under_tsan) {
      bottom_.store(b + 1, std::memory_order_release);
    } else {
      // release: a thief that sees the new bottom (acquire) also sees the slot.
      atomic_thread_fence(
          COHORT_MODEL_ORDER("deque.push.release_fence", std::memory_order_release));
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
  }

  // Owner only. Returns false when the deque is empty (or the last item went to a thief).
  bool pop(T& out) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    buffer* a = array_.load(std::memory_order_relaxed);
    std::int64_t t;
    if constexpr (under_tsan) {
      bottom_.store(b, std::memory_order_seq_cst);
      t = top_.load(std::memory_order_seq_cst);
    } else {
      bottom_.store(b, std::memory_order_relaxed);
      // StoreLoad: the lowered bottom must be visible before we read top, or the owner and
      // a thief could both take the last item. Partner: the fence in steal().
      atomic_thread_fence(COHORT_MODEL_ORDER("deque.pop.seq_cst_fence", std::memory_order_seq_cst));
      t = top_.load(std::memory_order_relaxed);
    }
    if (t > b) {  // empty: restore bottom
      bottom_.store(b + 1, std::memory_order_relaxed);
      return false;
    }
    out = a->get(b);
    if (t == b) {
      // The last item: race the thieves for it with the same CAS they use.
      const bool won = top_.compare_exchange_strong(
          t, t + 1, COHORT_MODEL_ORDER("deque.pop.last_item_cas", std::memory_order_seq_cst),
          std::memory_order_relaxed);
      bottom_.store(b + 1, std::memory_order_relaxed);
      return won;
    }
    return true;
  }

  // Owner only: pops like pop(), but only a job pushed at or above index `floor` (older
  // jobs stay). The owner's own bottom needs no synchronization to read.
  bool pop_above(std::int64_t floor, T& out) {
    if (bottom_.load(std::memory_order_relaxed) <= floor) return false;
    return pop(out);
  }
  std::int64_t owner_bottom() const noexcept { return bottom_.load(std::memory_order_relaxed); }

  // Any thread.
  steal_result steal(T& out) {
    std::int64_t t;
    std::int64_t b;
    if constexpr (under_tsan) {
      t = top_.load(std::memory_order_seq_cst);
      b = bottom_.load(std::memory_order_seq_cst);
    } else {
      t = top_.load(COHORT_MODEL_ORDER("deque.steal.top_acquire", std::memory_order_acquire));
      // StoreLoad partner of the fence in pop(): read top before bottom.
      atomic_thread_fence(
          COHORT_MODEL_ORDER("deque.steal.seq_cst_fence", std::memory_order_seq_cst));
      b = bottom_.load(COHORT_MODEL_ORDER("deque.steal.bottom_acquire", std::memory_order_acquire));
    }
    if (t >= b) return steal_result::empty;
    // acquire: pairs with the release store of a grown buffer in grow().
    buffer* a =
        array_.load(COHORT_MODEL_ORDER("deque.steal.array_acquire", std::memory_order_acquire));
    T x = a->get(t);
    if (!top_.compare_exchange_strong(
            t, t + 1, COHORT_MODEL_ORDER("deque.steal.cas", std::memory_order_seq_cst),
            std::memory_order_relaxed))
      return steal_result::lost_race;
    out = x;
    return steal_result::stolen;
  }

  // Any thread; a snapshot that may be stale by the time it returns. Used by idle workers
  // deciding whether to park (after their own seq_cst fence, see sleep.hpp).
  bool looks_empty() const noexcept {
    return bottom_.load(std::memory_order_relaxed) <= top_.load(std::memory_order_relaxed);
  }
  std::size_t size_hint() const noexcept {
    const auto n = bottom_.load(std::memory_order_relaxed) - top_.load(std::memory_order_relaxed);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  std::size_t capacity() const noexcept {
    return array_.load(std::memory_order_relaxed)->capacity();
  }

 private:
  // Out of line: rare, and inlined it makes every push save six registers.
  [[gnu::noinline]] buffer* grow(buffer* old, std::int64_t b, std::int64_t t) {
    auto bigger = std::make_unique<buffer>(old->capacity() * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    buffer* raw = bigger.get();
    buffers_.push_back(std::move(bigger));  // the old one stays alive for late thieves
    // release: a thief that loads the new buffer sees its copied slots.
    array_.store(raw, COHORT_MODEL_ORDER("deque.grow.array_release", std::memory_order_release));
    return raw;
  }

  // top is written by thieves (CAS) and the owner (last-item CAS); bottom only by the
  // owner. Separate cache lines so thieves hammering top do not slow the owner's pushes.
  alignas(64) atomic<std::int64_t> top_{0};
  alignas(64) atomic<std::int64_t> bottom_{0};
  std::int64_t top_seen_ = 0;  // owner only: its last reading of top (push); beside bottom,
                               // which only the owner writes too
  alignas(64) atomic<buffer*> array_{nullptr};
  std::vector<std::unique_ptr<buffer>> buffers_;  // owner only (grow)
};

// The two handles: the worker holds the owner, everybody else steals through a thief.
template <class T>
class deque_owner {
 public:
  explicit deque_owner(chase_lev_deque<T>& d) noexcept : d_(&d) {}
  void push(T x) { d_->push(x); }
  bool pop(T& out) { return d_->pop(out); }
  // Pops only while the bottom lies above `floor` (a task's own pushes, worker.hpp).
  bool pop_above(std::int64_t floor, T& out) { return d_->pop_above(floor, out); }
  std::int64_t bottom() const noexcept { return d_->owner_bottom(); }
  bool looks_empty() const noexcept { return d_->looks_empty(); }
  std::size_t size_hint() const noexcept { return d_->size_hint(); }
  std::size_t capacity() const noexcept { return d_->capacity(); }

 private:
  chase_lev_deque<T>* d_;
};

template <class T>
class deque_thief {
 public:
  explicit deque_thief(chase_lev_deque<T>& d) noexcept : d_(&d) {}
  steal_result steal(T& out) { return d_->steal(out); }
  bool looks_empty() const noexcept { return d_->looks_empty(); }

 private:
  chase_lev_deque<T>* d_;
};

}  // namespace cohort::detail
