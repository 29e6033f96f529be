// SPDX-License-Identifier: Apache-2.0
// Cancellation state shared by groups, gather frames and tasks.
//
// Every scope that can be cancelled is a cancel_node linked to the node it was created in
// (its parent): a task_group to the task that created it, a child to its group. A node
// is cancelled when its own flag or any ancestor's flag is set, so cancelling a group
// reaches every group nested in its children without any registration on the fast path.
//
// Walking the chain on every check would cost O(depth) (fib via gather nests 30 deep), so
// "scope" nodes cache their answer tagged with a process-wide epoch that every cancel
// bumps: while no cancel happened anywhere, a check is one flag load and one epoch load.
//
// Running children that take a std::stop_token register their stop_source in a global
// list (lib/cancel_tree.cpp); a cancel walks that list and requests stop on every source
// whose node is now cancelled. Only callables that take a token pay for it.
#pragma once

#include <cohort/export.hpp>

#include <atomic>
#include <cstdint>

namespace cohort::detail {

// Bumped (acq_rel) after every flag set; read (acquire) by checks. Reading epoch e
// synchronizes with every cancel counted in e (a chain of RMWs is a release sequence),
// so the flags those cancels set are visible to a check that read e.
extern COHORT_EXPORT std::atomic<std::uint64_t> cancel_epoch;

struct COHORT_EXPORT cancel_node {
  enum class kind : std::uint8_t { leaf, scope };

  explicit cancel_node(cancel_node* parent_node, kind k = kind::leaf) noexcept
      : parent(parent_node), node_kind(k) {}

  bool requested() const noexcept { return flag.load(std::memory_order_acquire) != 0; }

  // True when this node or any ancestor was cancelled.
  bool cancelled() const noexcept;

  // Sets the flag; returns false if it was already set. Wakes stop tokens below it.
  bool request() noexcept;

  // The node above. Only a group's link ever changes: it is cut (set to null) when the
  // task or frame that created the group ends while the group lives on (it was handed
  // to somebody else), so nobody walks into the ended node (lib/README.md, "Lifetimes").
  // relaxed: a reader that sees null stops; one that sees the old node is inside a
  // walk_guard, which the cutter waits out before that node can die.
  cancel_node* up() const noexcept { return parent.load(std::memory_order_relaxed); }

  std::atomic<cancel_node*> parent;
  std::atomic<std::uint8_t> flag{0};
  kind node_kind;
  // Groups created under this node that are still alive and linked to it: the sum of the
  // two counts below, modulo 2^32. Checked when the node's task or frame ends: non-zero
  // is the rare case of a group outliving its creator, and those groups are cut loose
  // then (detach_groups_of).
  //
  // A leaf (a child's run, a pool entry) is current on one thread only, the one running
  // it, so the groups it creates and destroys there, the common case, count in a plain
  // field that only that thread touches: no read-modify-write per group. A scope (a
  // gather frame) is current on every thread that runs one of its callables, and a group
  // destroyed on another thread than its creator's may race with others, so those count
  // in the atomic (a leaf's may go "negative" there: the sum is what counts).
  std::uint32_t groups_linked_here = 0;
  std::atomic<std::uint32_t> live_groups{0};
};

// The rare case above: cuts the groups still linked to `n`, which is about to end; they
// keep its cancelled state. Defined in lib/pool.cpp.
COHORT_EXPORT void detach_groups_of(cancel_node* n) noexcept;
// Called on the thread running `n`, as the node ends.
inline void end_of_node(cancel_node* n) noexcept {
  // acquire: pairs with the release decrement of a group destroyed on another thread.
  if (n->groups_linked_here + n->live_groups.load(std::memory_order_acquire) != 0)
    detach_groups_of(n);
}

// A node that caches the outcome of walking its ancestors (groups and gather frames).
struct COHORT_EXPORT scope_node : cancel_node {
  explicit scope_node(cancel_node* parent_node) noexcept : cancel_node(parent_node, kind::scope) {}
  // (epoch << 1) | cancelled; relaxed: a stale entry carries an old epoch and is ignored.
  mutable std::atomic<std::uint64_t> cache{0};
  bool ancestors_cancelled() const noexcept;
};

// Walks the ancestors of `scope` (not itself), inside a walk_guard.
COHORT_EXPORT bool ancestors_cancelled_slow(const cancel_node* scope) noexcept;

inline bool scope_node::ancestors_cancelled() const noexcept {
  const std::uint64_t epoch = cancel_epoch.load(std::memory_order_acquire);
  if (epoch == 0 || up() == nullptr) return false;  // nothing was ever cancelled
  const std::uint64_t c = cache.load(std::memory_order_relaxed);
  if ((c >> 1) == epoch) return (c & 1) != 0;
  const bool r = ancestors_cancelled_slow(this);
  cache.store((epoch << 1) | (r ? 1u : 0u), std::memory_order_relaxed);
  return r;
}

inline bool cancel_node::cancelled() const noexcept {
  for (const cancel_node* n = this; n != nullptr; n = n->up()) {
    if (n->requested()) return true;
    if (n->node_kind == kind::scope)
      return static_cast<const scope_node*>(n)->ancestors_cancelled();
  }
  return false;
}

// The node of the task running on this thread (null outside any task). Nested groups and
// gathers take it as their parent.
extern COHORT_EXPORT constinit thread_local cancel_node* current_node;

class current_node_guard {
 public:
  explicit current_node_guard(cancel_node* n) noexcept : saved_(current_node) { current_node = n; }
  ~current_node_guard() { current_node = saved_; }
  current_node_guard(const current_node_guard&) = delete;
  current_node_guard& operator=(const current_node_guard&) = delete;

 private:
  cancel_node* saved_;
};

}  // namespace cohort::detail
