// SPDX-License-Identifier: Apache-2.0
// Model check of the REAL lib/deque.hpp (through lib/atomics.hpp) under Relacy.
//
// Invariant (every test): exactly once. Every pushed item is taken by exactly one of the
// owner's pop or a thief's steal, or is still in the deque when the threads end; no item
// is lost, none is taken twice, no thief reads a slot that was never written. Relacy
// checks this over every interleaving and every value the C++ memory model lets each
// load return (sched_full), with tiny sizes: capacity 2, 2-3 threads.
#include <cstdint>

#include "deque.hpp"
#include "model_check.hpp"

namespace {

using cohort::detail::chase_lev_deque;
using cohort::detail::steal_result;

constexpr int max_items = 4;

// Counts who took what; fibers of one OS thread, so plain ints.
struct ledger {
  int taken[max_items + 1] = {};
  void take(int item) {
    RL_ASSERT(item >= 1 && item <= max_items);  // never an unwritten or foreign slot
    ++taken[item];
  }
  // Drains what is left (single-threaded, after the threads) and checks exactly-once.
  void check(chase_lev_deque<int>& d, int pushed) {
    int item = 0;
    while (d.pop(item)) take(item);
    for (int i = 1; i <= pushed; ++i) RL_ASSERT(taken[i] == 1);
  }
};

void steal_once(chase_lev_deque<int>& d, ledger& l) {
  int item = 0;
  if (d.steal(item) == steal_result::stolen) l.take(item);
}

// The last-item race: the owner pops the last item while a thief steals it.
// Pop's StoreLoad fence, steal's fence and the two CASes on top decide it.
struct pop_races_steal : rl::test_suite<pop_races_steal, 2> {
  chase_lev_deque<int> d{2};
  ledger l;
  void thread(unsigned i) {
    if (i == 0) {
      d.push(1);
      d.push(2);
      int item = 0;
      if (d.pop(item)) l.take(item);
      if (d.pop(item)) l.take(item);
    } else {
      steal_once(d, l);
    }
  }
  void after() { l.check(d, 2); }
};

// Two thieves race for the same top item while the owner takes the last one.
struct two_thieves : rl::test_suite<two_thieves, 3> {
  chase_lev_deque<int> d{2};
  ledger l;
  void thread(unsigned i) {
    if (i == 0) {
      d.push(1);
      d.push(2);
      int item = 0;
      if (d.pop(item)) l.take(item);
    } else {
      steal_once(d, l);
    }
  }
  void after() { l.check(d, 2); }
};

// A thief reads a slot the owner is still filling: push's release fence and the thief's
// acquire of bottom publish the slot.
struct steal_sees_slot : rl::test_suite<steal_sees_slot, 2> {
  chase_lev_deque<int> d{2};
  ledger l;
  void thread(unsigned i) {
    if (i == 0) {
      d.push(1);
      d.push(2);
    } else {
      steal_once(d, l);
      steal_once(d, l);
    }
  }
  void after() { l.check(d, 2); }
};

// Growth: capacity 2 -> 4 while a thief steals; the thief may read the old buffer or
// the new one, and the new one's copied slots must be visible (grow's release, steal's
// acquire of the buffer pointer).
struct growth : rl::test_suite<growth, 2> {
  chase_lev_deque<int> d{2};
  ledger l;
  void thread(unsigned i) {
    if (i == 0) {
      d.push(1);
      d.push(2);
      d.push(3);  // grows
      int item = 0;
      if (d.pop(item)) l.take(item);
    } else {
      steal_once(d, l);
      steal_once(d, l);
    }
  }
  void after() { l.check(d, 3); }
};

// Wrap-around: a slot a thief took is reused by the next push (push's acquire of top).
struct wrap_around : rl::test_suite<wrap_around, 2> {
  chase_lev_deque<int> d{2};
  ledger l;
  void thread(unsigned i) {
    if (i == 0) {
      d.push(1);
      d.push(2);
      d.push(3);  // reuses slot 0 if the thief took item 1 already, else grows
      int item = 0;
      if (d.pop(item)) l.take(item);
    } else {
      steal_once(d, l);
    }
  }
  void after() { l.check(d, 3); }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace cohort::model;
  using cohort::detail::mutation_kind;
  using std::memory_order_acq_rel;
  using std::memory_order_relaxed;
  const std::vector<model_test> tests = {
      test<pop_races_steal>("deque.pop_races_steal"), test<two_thieves>("deque.two_thieves"),
      test<steal_sees_slot>("deque.steal_sees_slot"), test<growth>("deque.growth"),
      test<wrap_around>("deque.wrap_around"),
  };
  const auto weaken = mutation_kind::weaken;
  const auto split = mutation_kind::split;
  const std::vector<mutation_case> mutations = {
      must_fail("deque.pop.seq_cst_fence", weaken, memory_order_acq_rel,
                "pop's StoreLoad: without it owner and thief both take the last item"),
      must_fail("deque.pop.seq_cst_fence", weaken, memory_order_relaxed,
                "(fence removed) same as above"),
      must_fail("deque.steal.seq_cst_fence", weaken, memory_order_acq_rel,
                "steal's half of the StoreLoad pair: the thief reads a stale bottom"),
      must_fail("deque.steal.seq_cst_fence", weaken, memory_order_relaxed,
                "(fence removed) same as above"),
      must_fail("deque.steal.cas", split, std::memory_order_seq_cst,
                "two thieves (or thief and owner) both claim the same top"),
      must_fail("deque.pop.last_item_cas", split, std::memory_order_seq_cst,
                "owner and thief both claim the last item"),
      must_fail("deque.push.release_fence", weaken, memory_order_relaxed,
                "(fence removed) a thief sees the new bottom but not the slot"),
      must_fail("deque.steal.bottom_acquire", weaken, memory_order_relaxed,
                "the thief's half of the slot publication"),
      must_fail("deque.grow.array_release", weaken, memory_order_relaxed,
                "a thief loads the grown buffer before its copied slots"),
      must_fail("deque.steal.array_acquire", weaken, memory_order_relaxed,
                "the thief's half of the grown buffer's publication"),
      // The CASes' atomicity decides who wins `top`; their order does not matter here.
      harmless("deque.steal.cas", weaken, memory_order_acq_rel,
               "who wins top is decided by the CAS's atomicity; the StoreLoad order against "
               "pop comes from the two seq_cst fences, the slot's publication from bottom's "
               "acquire; release (kept) is what push's acquire of top pairs with"),
      beyond_checker("deque.steal.cas", weaken, memory_order_relaxed,
                     "needed: (1) its release half is what push's acquire of top pairs with "
                     "for slot reuse (load buffering, see deque.push.top_acquire); (2) with "
                     "items 0,1: thief B steals 0 (relaxed CAS 0->1), thief A reads top 1 and "
                     "an old bottom and takes 1, the owner's pop reads the old top 0 and "
                     "takes 1 too. The standard allows it ([atomics.order] p4.4 orders the "
                     "two fences only if B's CAS happens before A's fence, which needs "
                     "release); Relacy forbids it because its seq_cst fences synchronise "
                     "fully, handing what A saw to the owner"),
      harmless("deque.pop.last_item_cas", weaken, memory_order_relaxed,
               "as above: the owner and a thief race on top with the same atomic CAS"),
      harmless("deque.pop.last_item_cas", weaken, memory_order_acq_rel, "as above"),
      harmless("deque.steal.top_acquire", weaken, memory_order_relaxed,
               "the seq_cst fence right after this load is also an acquire fence for it"),
      beyond_checker("deque.push.top_acquire", weaken, memory_order_relaxed,
                     "needed: without it a thief's slot read (before its CAS) may return the "
                     "value the owner writes after seeing that CAS (load buffering, allowed "
                     "by C++ and by ARM/POWER); Relacy only lets a load read a store already "
                     "executed, so it cannot produce this"),
  };
  return model_main(argc, argv, tests, mutations);
}
