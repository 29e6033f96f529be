// SPDX-License-Identifier: Apache-2.0
// The one door to atomics for the lock-free structures we model-check (deque.hpp today).
//
// In a normal build `atomic<T>` IS `std::atomic<T>`, `atomic_thread_fence` IS
// `std::atomic_thread_fence`, and `COHORT_MODEL_ORDER(site, order)` is just `order`: the
// shim adds no code, no indirection, no layout change.
//
// In a model build (COHORT_MODEL_CHECK defined, tests/model/ only) they are Relacy's
// (Dmitry Vyukov's Relacy Race Detector, Debian `relacy-dev`): every atomic operation
// becomes a scheduling point of a checker that runs the test's threads as fibers and
// explores their interleavings and the values the C++ memory model lets each load read
// (a relaxed load may return a stale value, a fence orders only what the standard says).
// This is what tokio does with loom.
//
// Mutation testing of the proof: every memory order that matters is written
// `COHORT_MODEL_ORDER("site.id", order)`. A model test can name one site and weaken it
// (`model_mutation`): to a weaker order, a fence to nothing (order relaxed), or an RMW to
// a plain load followed by a plain store (`split`). A checker that still passes with a
// needed order weakened proves nothing, so tests/model/ runs each mutation and expects a
// failure (tests/model/README.md lists what is caught and why the rest cannot be).
#pragma once

#include <atomic>
#include <cstdint>

#if defined(COHORT_MODEL_CHECK)
#include <cstring>
#include <memory>
#include <vector>

#include <relacy/relacy.hpp>
// relacy.hpp rewrites these names with macros for code written against its own std
// replacement; we route through this shim instead, so take them back.
#undef memory_order_relaxed
#undef memory_order_consume
#undef memory_order_acquire
#undef memory_order_release
#undef memory_order_acq_rel
#undef memory_order_seq_cst
#undef new
#undef delete
#undef malloc
#undef calloc
#undef realloc
#undef free
// Relacy still sees every allocation: it replaces the global operator new and delete
// (leaks and use-after-free inside a simulation are reported).
#endif

namespace cohort::detail {

#if !defined(COHORT_MODEL_CHECK)

template <class T>
using atomic = std::atomic<T>;
using std::atomic_thread_fence;
#define COHORT_MODEL_ORDER(site, order) (order)

#else  // COHORT_MODEL_CHECK

// A memory order tagged with the site that uses it, so a mutation can find it.
struct model_order {
  model_order(std::memory_order o) noexcept : order(o) {}  // NOLINT: implicit on purpose
  model_order(const char* s, std::memory_order o) noexcept : order(o), site(s) {}
  std::memory_order order;
  const char* site = nullptr;
};
#define COHORT_MODEL_ORDER(site, order) (::cohort::detail::model_order{site, order})

// The mutation a model test runs under (none: site == nullptr). Relacy runs all threads
// of a simulation as fibers of one OS thread, so a plain global is enough.
enum class mutation_kind {
  weaken,  // use `order` instead (for a fence, relaxed removes the fence)
  split,   // an RMW becomes a load and a separate store, both with `order`
};
struct model_mutation {
  const char* site = nullptr;
  mutation_kind kind = mutation_kind::weaken;
  std::memory_order order = std::memory_order_relaxed;
};
inline model_mutation active_mutation;
// How often the mutated site ran: a mutation whose site never runs (a typo in a site
// name) would pass as "harmless" without testing anything, so the driver checks this.
inline unsigned long mutation_hits = 0;

inline const model_mutation* mutation_at(const model_order& o) noexcept {
  if (active_mutation.site == nullptr || o.site == nullptr) return nullptr;
  if (std::strcmp(active_mutation.site, o.site) != 0) return nullptr;
  ++mutation_hits;
  return &active_mutation;
}
inline bool split_at(const model_order& o) noexcept {
  const model_mutation* m = mutation_at(o);
  return m != nullptr && m->kind == mutation_kind::split;
}
inline std::memory_order effective(const model_order& o) noexcept {
  const model_mutation* m = mutation_at(o);
  return m != nullptr ? m->order : o.order;
}

inline rl::memory_order to_relacy(std::memory_order o) noexcept {
  switch (o) {
    case std::memory_order_relaxed:
      return rl::mo_relaxed;
    case std::memory_order_consume:
      return rl::mo_consume;
    case std::memory_order_acquire:
      return rl::mo_acquire;
    case std::memory_order_release:
      return rl::mo_release;
    case std::memory_order_acq_rel:
      return rl::mo_acq_rel;
    case std::memory_order_seq_cst:
      return rl::mo_seq_cst;
  }
  return rl::mo_seq_cst;
}
// The order a plain load / store may carry when an RMW is split or weakened.
inline std::memory_order load_part(std::memory_order o) noexcept {
  if (o == std::memory_order_release) return std::memory_order_relaxed;
  if (o == std::memory_order_acq_rel) return std::memory_order_acquire;
  return o;
}
inline std::memory_order store_part(std::memory_order o) noexcept {
  if (o == std::memory_order_acquire || o == std::memory_order_consume)
    return std::memory_order_relaxed;
  if (o == std::memory_order_acq_rel) return std::memory_order_release;
  return o;
}
// A CAS's failure order may not be stronger than its (possibly weakened) success order.
inline std::memory_order failure_part(std::memory_order success, std::memory_order failure) {
  const std::memory_order cap = load_part(success);
  if (cap == std::memory_order_relaxed) return std::memory_order_relaxed;
  if (cap == std::memory_order_acquire && failure == std::memory_order_seq_cst) return cap;
  return failure;
}

// Where an atomic operation is written, for Relacy's reports (std::source_location is
// missing from clang 14 with libstdc++ 12; these builtins exist in both compilers).
struct call_site {
  static call_site current(const char* file = __builtin_FILE(),
                           const char* function = __builtin_FUNCTION(),
                           unsigned line = __builtin_LINE()) noexcept {
    return {file, function, line};
  }
  const char* file;
  const char* function;
  unsigned line;
};
inline rl::debug_info info_of(const call_site& l) noexcept {
  return rl::debug_info(l.function, l.file, l.line);
}

template <class T>
class atomic {
  using here = call_site;

 public:
  atomic() = default;
  atomic(T v) : a_(v) {}  // NOLINT: like std::atomic's
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;

  T load(model_order o = std::memory_order_seq_cst, here l = here::current()) const {
    return a_.load(to_relacy(effective(o)), info_of(l));
  }
  void store(T v, model_order o = std::memory_order_seq_cst, here l = here::current()) {
    a_.store(v, to_relacy(effective(o)), info_of(l));
  }
  T exchange(T v, model_order o = std::memory_order_seq_cst, here l = here::current()) {
    if (split_at(o)) {
      const std::memory_order m = effective(o);
      const T old = a_.load(to_relacy(load_part(m)), info_of(l));
      a_.store(v, to_relacy(store_part(m)), info_of(l));
      return old;
    }
    return a_.rmw(rl::rmw_type_t<rl::rmw_type_swap>(), v, to_relacy(effective(o)), info_of(l));
  }
  bool compare_exchange_strong(T& expected, T desired, model_order success,
                               std::memory_order failure, here l = here::current()) {
    const std::memory_order m = effective(success);
    if (split_at(success)) {
      const T seen = a_.load(to_relacy(load_part(m)), info_of(l));
      if (seen != expected) {
        expected = seen;
        return false;
      }
      a_.store(desired, to_relacy(store_part(m)), info_of(l));
      return true;
    }
    return a_.compare_exchange_strong(expected, desired, to_relacy(m), info_of(l),
                                      to_relacy(failure_part(m, failure)), info_of(l));
  }
  bool compare_exchange_strong(T& expected, T desired, model_order o = std::memory_order_seq_cst,
                               here l = here::current()) {
    return compare_exchange_strong(expected, desired, o, load_part(o.order), l);
  }
  T fetch_add(T v, model_order o = std::memory_order_seq_cst, here l = here::current()) {
    return rmw<rl::rmw_type_add>(v, o, l, [](T a, T b) { return static_cast<T>(a + b); });
  }
  T fetch_sub(T v, model_order o = std::memory_order_seq_cst, here l = here::current()) {
    return rmw<rl::rmw_type_sub>(v, o, l, [](T a, T b) { return static_cast<T>(a - b); });
  }
  T fetch_or(T v, model_order o = std::memory_order_seq_cst, here l = here::current()) {
    return rmw<rl::rmw_type_or>(v, o, l, [](T a, T b) { return static_cast<T>(a | b); });
  }
  T fetch_and(T v, model_order o = std::memory_order_seq_cst, here l = here::current()) {
    return rmw<rl::rmw_type_and>(v, o, l, [](T a, T b) { return static_cast<T>(a & b); });
  }

  // A futex on this word, as the kernel gives it: the value check reads the newest value
  // (the kernel compares under its bucket lock, after a full barrier) and parks
  // atomically with it. No fence is added for the caller: the protocols must not rely
  // on the syscall's barriers. A sleeper nobody wakes is a deadlock Relacy reports.
  void futex_wait(T expected, here l = here::current()) {
    rl::context& c = rl::ctx();
    c.sched();
    T now;
    {
      rl::preemption_disabler pd(c);
      // An RMW that changes nothing reads the newest value in modification order.
      now = a_.rmw(rl::rmw_type_t<rl::rmw_type_add>(), T{}, rl::mo_relaxed, info_of(l));
    }
    if (now != expected) return;
    a_.wait(c, false, false, info_of(l));
  }
  void futex_wake(unsigned count, here l = here::current()) {
    rl::context& c = rl::ctx();
    c.sched();
    a_.wake(c, count, info_of(l));
  }

 private:
  template <rl::rmw_type_e kind, class Apply>
  T rmw(T v, model_order o, const here& l, Apply apply) {
    const std::memory_order m = effective(o);
    if (split_at(o)) {
      const T old = a_.load(to_relacy(load_part(m)), info_of(l));
      a_.store(apply(old, v), to_relacy(store_part(m)), info_of(l));
      return old;
    }
    return a_.rmw(rl::rmw_type_t<kind>(), v, to_relacy(m), info_of(l));
  }

  mutable rl::atomic<T> a_;
};

inline void atomic_thread_fence(model_order o, call_site l = call_site::current()) {
  const std::memory_order m = effective(o);
  if (m == std::memory_order_relaxed) return;  // a removed fence
  rl::atomic_thread_fence(to_relacy(m), info_of(l));
}
// A plain std::memory_order argument would also find std::atomic_thread_fence by ADL:
// this overload makes such a call ambiguous (a compile error) instead of silently real.
inline void atomic_thread_fence(std::memory_order o, call_site l = call_site::current()) {
  atomic_thread_fence(model_order(o), l);
}

#endif  // COHORT_MODEL_CHECK

}  // namespace cohort::detail
