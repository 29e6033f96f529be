// SPDX-License-Identifier: Apache-2.0
// The join logic: how children start, end, fail and are waited for; how a group ends.
#include <cohort/detail/group_core.hpp>

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include <cohort/detail/fork_join.hpp>
#include <cohort/errors.hpp>

#include "cancel_tree.hpp"
#include "child_timeout.hpp"
#include "join_credit.hpp"
#include "lib_access.hpp"
#include "outside_slots.hpp"
#include "parking_lot.hpp"
#include "pool.hpp"
#include "wait_on.hpp"
#include "worker.hpp"

namespace cohort::detail {
namespace {

std::string group_label(const group_core& g) {
  return g.name().empty() ? std::string("(unnamed group)") : "'" + g.name() + "'";
}

// Stands in for the names of failed tasks that could not be kept (out of memory).
std::string unkept_label(std::size_t unkept) {
  return std::to_string(unkept) + " more failed task(s), not kept: out of memory";
}

}  // namespace

namespace {
void on_group_deadline(void* g) noexcept {
  lib_access::deadline_passed(*static_cast<group_core*>(g));
}
}  // namespace

// A deadline that passes while children are unfinished cancels the group; one that
// passes when all are done (with_timeout's child returned in time) changes nothing,
// unless more children are spawned later, which then start cancelled. The flag and the
// count are a Dekker pair (seq_cst here and in submit): either we see the new child, or
// submit sees the flag.
void group_core::deadline_passed() noexcept {
  deadline_passed_.store(true, std::memory_order_seq_cst);
  if ((counts_.load(std::memory_order_seq_cst) & count_mask) != 0) cancel(end_reason::deadline);
}

// A joiner sleeps until the unfinished count reaches zero.
class group_wait_target final : public wait_target {
 public:
  explicit group_wait_target(std::atomic<std::uint64_t>& w) noexcept : word_(w) {}
  bool done() const noexcept override {
    // acquire: pairs with the last child's acq_rel decrement; its writes are visible.
    return (word_.load(std::memory_order_acquire) & lib_access::group_count_mask) == 0;
  }
  bool announce(std::size_t) noexcept override {
    return (word_.fetch_or(lib_access::group_sleeper_bit, std::memory_order_acq_rel) &
            lib_access::group_count_mask) != 0;
  }
  const void* key(std::size_t) const noexcept override { return &word_; }

 private:
  std::atomic<std::uint64_t>& word_;
};

// ---- a group's count: a child's own end, or a join credit's settle (join_credit.hpp) ----
std::uint64_t lib_access::count_down(group_core& g, std::uint32_t n) noexcept {
  // acq_rel: release publishes the ended children's writes to the joiner; acquire orders
  // the sleeper_bit read. `g` may be gone after this: only the address is used.
  const std::uint64_t before = g.counts_.fetch_sub(n, std::memory_order_acq_rel);
  if ((before & group_core::count_mask) == n && (before & group_core::sleeper_bit) != 0)
    parking_lot::unpark_all(&g.counts_);
  return before;
}

// ---- children -------------------------------------------------------------------------

child_base::child_base(group_core& g, const job_type* t, ops_fn o, bool with_handle) noexcept
    : job{t},
      cancel_node(&g),
      status(with_handle ? 0 : handle_gone_bit),
      ops(o),
      owner_pool(&g.owner()) {}

bool child_claim(child_base* c) noexcept {
  // acq_rel: the winner's run is ordered after the spawn that published the child.
  return !c->started.exchange(true, std::memory_order_acq_rel);
}

bool child_claim_taken(child_base* c) noexcept {
  // The claim races only with a waiter running the child inline, and that needs its
  // handle. Once the handle is gone (or never was: spawn_detached), and no waiter started
  // it before letting go (a waiter that runs it holds the handle until the run is done,
  // and a handle released after done_bit never sets handle_gone_bit), the deque or queue
  // we took the job from is the only way to it, and it hands each job to one taker.
  // acquire: pairs with the handle's release fetch_or (child_drop_handle), so its holder
  // no longer touches the flag; the job's publication orders the rest. `started` is
  // false here whenever the bit is set (a taker that claims and puts the job back clears
  // it before republishing); the load is a guard that costs less than the exchange.
  if ((c->status.load(std::memory_order_acquire) & handle_gone_bit) != 0 &&
      !c->started.load(std::memory_order_relaxed)) {
    c->started.store(true, std::memory_order_relaxed);  // for status_value() only
    return true;
  }
  return child_claim(c);
}

// ---- per-child deadlines: child_timeout.cpp (arm_child_timeout, disarm_child_timeout) ----

namespace {

// A child's final status when it may not simply have succeeded: it has a deadline, it
// threw, or it was cancelled. Out of line, so the common end stays a short function.
[[gnu::noinline]] task_status settle_unusual_end(child_base* c, group_core& g) noexcept {
  if (c->has_timeout && disarm_child_timeout(c)) {
    // Its own deadline cancelled it: unless it failed on its own, that is a failure.
    if (!c->error || is_cancellation(c->error)) {
      if (c->has_value) c->ops(c, child_op::destroy_result);
      try {
        c->error = std::make_exception_ptr(timeout_error());
      } catch (...) {
        c->error = std::current_exception();  // bad_alloc: still a failure
      }
    }
  }
  task_status final_status;
  if (c->error) {
    final_status = is_cancellation(c->error) ? task_status::cancelled : task_status::failed;
  } else if (c->cancelled()) {
    final_status = task_status::cancelled;  // cancelled before it finished: result discarded
  } else {
    final_status = task_status::succeeded;
  }
  if (final_status == task_status::cancelled) {
    if (c->has_value) c->ops(c, child_op::destroy_result);
    c->error = nullptr;
    g.owner().cancelled_count.fetch_add(1, std::memory_order_relaxed);
  }
  return final_status;  // a failure is recorded by child_end (a friend of the group)
}

}  // namespace

void child_end(child_base* c, std::uint64_t begin) noexcept {
  end_of_node(c);  // a group it created and handed on no longer links to it
  group_core& g = c->group();
  // Not cancelled if it started and no cancel happened anywhere since (the epoch is
  // unchanged): one load instead of the walk up to the first scope. acquire: as in
  // child_begin. (child_skipped never equals an epoch.)
  const bool not_cancelled =
      cancel_epoch.load(std::memory_order_acquire) == begin || !c->cancelled();
  const task_status final_status = !c->has_timeout && !c->error && not_cancelled
                                       ? task_status::succeeded
                                       : settle_unusual_end(c, g);
  if (final_status == task_status::failed) g.record_failure(c);
  // The completion (complete() in completion.hpp, plus the lifetime pair of child_base):
  // a fetch_or, not an exchange, keeps handle_gone_bit. acq_rel: release publishes the
  // result to waiters and to the handle's release; acquire orders the reads of
  // waiters_bit and handle_gone_bit after a waiter's announcement and the handle's
  // fetch_or (child_drop_handle), and the free below after the handle holder's last use.
  const std::uint8_t before = c->status.fetch_or(
      static_cast<std::uint8_t>(static_cast<std::uint8_t>(final_status) | done_bit),
      std::memory_order_acq_rel);
  if (before & waiters_bit) wake_completion_waiters(&c->status);  // by address only
  // The handle is gone: the pair's reference is ours to drop, before the group's count,
  // so the result is destroyed before join() can return (it may refer to the joiner's
  // frame). Otherwise the handle holder may free the block from now on.
  if (before & handle_gone_bit) child_release(c);
  // Counted on this thread, taken off the group's count later in one RMW (join_credit).
  if (join_credit* k = current_join_credit; k != nullptr && k->group == &g) {
    ++k->ended;
    return;
  }
  g.child_ended();  // the last touch of the group: it may be gone after this
}

void child_release(child_base* c) noexcept {
  // Seeing 1 means we hold the only reference (nobody can add one: the group and an
  // inline run add theirs while the pair still holds its own), so no read-modify-write
  // is needed. acquire / acq_rel: the last owner sees every write of the others before
  // freeing.
  if (c->refs.load(std::memory_order_acquire) == 1 ||
      c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
    c->ops(c, child_op::free_block);
}

void child_drop_handle(child_base* c) noexcept {
  // acquire: pairs with the run's acq_rel completion; after done_bit the run no longer
  // touches the block, and its result is ours to destroy.
  if ((c->status.load(std::memory_order_acquire) & done_bit) == 0) {
    // Still running or queued: tell the run it is the pair's last member. acq_rel:
    // release hands it our last use of the block; acquire, if it completed meanwhile,
    // makes its writes ours.
    if ((c->status.fetch_or(handle_gone_bit, std::memory_order_acq_rel) & done_bit) == 0)
      return;  // its end drops the reference (child_end)
  }
  // The release below publishes has_value = false to whoever frees the block.
  if (c->has_value) c->ops(c, child_op::destroy_result);
  child_release(c);
}

namespace {

void check_not_self(child_base* c) {
  // Only a running task can be an ancestor of the code running here.
  if (!c->started.load(std::memory_order_relaxed)) return;
  walk_guard guard;
  for (const cancel_node* n = current_node; n != nullptr; n = n->up())
    if (n == c)
      throw std::logic_error("cohort::task::wait: task '" + (c->name ? *c->name : std::string()) +
                             "' waits on itself; this would never return");
}

}  // namespace

// A worker of the child's pool that waits on a child nobody started runs it right here:
// the wait is over as soon as it can be, and a chain of sibling waits (x waits on y
// while y sits below x on this worker's deque) cannot deadlock.
//
// A thread outside the pool that holds a slot in it (it spawned into it) does the same in
// its slot (outside_slots.hpp): the awaited task is the one thing a wait may always run.
bool child_run_inline(child_base* c) {
  worker* w = current_worker;
  // Not c->group(): once the child ends its group may be gone, and nothing orders this
  // read before that (a waiter is woken before the group's count drops only once it has
  // announced itself, later in the wait).
  pool& p = *c->owner_pool;
  worker* const slot = w == nullptr ? held_outside_slot(p) : nullptr;
  if (slot == nullptr && (w == nullptr || &w->owner() != &p)) return false;
  // A child of a max_concurrency group that waits for a slot must keep waiting; one that
  // was submitted already holds its slot, so running it here keeps the limit.
  // acquire: pairs with the release clear in release_slot.
  if (c->held.load(std::memory_order_acquire)) return false;
  if (c->started.load(std::memory_order_relaxed)) return false;
  // If we claim it, its queued job becomes an owner of its own: it stays on a deque until
  // somebody pops it, fails to claim it and releases it (worker::execute), while the run
  // here is the pair's. So the reference comes first: a popper that loses the claim to us
  // must find it. relaxed: our handle keeps the block alive, and our claim exchange
  // (release) orders it before the popper's failed claim (acquire).
  c->refs.fetch_add(1, std::memory_order_relaxed);
  if (!child_claim(c)) {
    c->refs.fetch_sub(1, std::memory_order_relaxed);  // our handle still holds the pair's
    return false;
  }
  if (slot != nullptr) {
    const outside_slot_scope as_slot(slot);
    slot->execute_claimed(c);
  } else {
    w->execute_claimed(c);
  }
  return true;
}

void child_wait(child_base* c) {
  if (is_complete(c->status)) return;  // nothing to wait for, so no deadlock to diagnose
  check_not_self(c);
  if (child_run_inline(c)) return;
  wait_complete(c->status);
}

bool child_wait_for(child_base* c, std::chrono::nanoseconds timeout) {
  if (is_complete(c->status)) return true;
  check_not_self(c);
  // A timed wait runs nothing, not even the awaited child: it could outlast the timeout.
  return wait_complete_for(c->status, timeout);
}

void child_cancel(child_base* c) noexcept {
  if (!is_complete(c->status)) c->request();
}

void throw_moved_from_task() {
  throw std::logic_error("cohort::task: this handle is empty (moved from or default-constructed)");
}

// ---- the group ------------------------------------------------------------------------

group_core::group_core(pool& p, group_options&& options, bool detached_root)
    : scope_node(detached_root ? nullptr : current_node),
      pool_(&p),
      // An unnamed group (the common case) default-constructs its name: moving an empty
      // std::string still copies its small buffer (a memcpy call), on every group.
      options_{options.on_failure, options.max_concurrency,
               options.name.empty() ? std::string() : std::move(options.name)},
      detached_root_(detached_root) {
  if (p.timing()) created_ = std::chrono::steady_clock::now();
  if (cancel_node* creator = up()) {
    if (creator->node_kind == cancel_node::kind::leaf) {
      ++creator->groups_linked_here;  // a leaf that is current here runs here (cancel_node.hpp)
    } else {
      // relaxed: only the creator's own end reads it (end_of_node), on this thread or
      // after it joined whatever ran here.
      creator->live_groups.fetch_add(1, std::memory_order_relaxed);
    }
  }
  live_list = &p.live_groups_here();
  live_list->add(this);
}

group_core::~group_core() {
  if (const auto t = deadline_timer_.load(std::memory_order_relaxed)) pool_->timers().cancel(t);
  live_list->remove_and_unlink_creator(this);
}

void group_core::refuse_spawn() const {
  if (spawned() >= spawned_mask - 1)
    throw std::length_error("cohort::task_group::spawn: group " + group_label(*this) +
                            " reached its limit of 2^31 children");
  throw std::logic_error("cohort::task_group::spawn: group " + group_label(*this) +
                         " was already joined; a finished group takes no more work");
}

namespace {

// Ends a counted child that could not be queued (out of memory growing a deque or a
// queue): failed with that exception, its callable never called. Without this, join()
// would wait forever for a child that is on no queue. As a failure it cancels its
// siblings (under cancel_siblings) and join() reports it; spawn() itself does not throw,
// as everywhere after the block exists. The child is unpublished, so nobody else can
// claim it, and its own flag makes the run skip the callable (child_begin).
void fail_unqueued(child_base* c, std::exception_ptr e) noexcept {
  c->error = std::move(e);
  c->flag.store(1, std::memory_order_relaxed);
  c->started.store(true, std::memory_order_relaxed);
  c->execute();
}

}  // namespace

void group_core::submit(child_base* c) {
  // seq_cst only for the deadline's Dekker pair (deadline_passed); otherwise the child's
  // own decrement comes after this in happens-before through the job's publication.
  const std::uint64_t before = counts_.fetch_add(one_spawn, std::memory_order_seq_cst);
  c->index = static_cast<std::uint32_t>((before >> 32) & spawned_mask);
  // The common spawn (no deadline, no limit, not cancelled) goes straight to a deque; the
  // rest is out of line (lib_access::submit_unusual), so this path saves no registers.
  if ((deadline_timer_.load(std::memory_order_relaxed) != 0 || options_.max_concurrency != 0 ||
       cancelled()) &&
      lib_access::submit_unusual(*this, c))
    return;
  try {
    pool_->submit_here(c);
  } catch (...) {
    fail_unqueued(c, std::current_exception());
  }
}

namespace {

// The common join's first step: the joiner runs its group's children left on top of its
// own deque, or of its outside slot's (outside_slots.hpp), where its spawns went.
void run_own_children(const group_core& g, const join_credit* credit) noexcept {
  if (worker* w = current_worker) {
    if (&w->owner() == &g.owner()) w->run_children_on_top(g, credit);
  } else if (worker* slot = held_outside_slot(g.owner())) {
    slot->run_children_from_outside(g, credit);
  }
}

}  // namespace

bool lib_access::run_children_credited(group_core& g) noexcept {
  const bool credited = creditable(g);
  join_credit credit{&g, 0, current_join_credit};
  if (credited) current_join_credit = &credit;
  run_own_children(g, credited ? &credit : nullptr);
  if (!credited) return false;
  current_join_credit = credit.outer;
  if (credit.ended == 0) return false;
  return (count_down(g, credit.ended) & group_core::count_mask) == credit.ended;
}

bool lib_access::submit_unusual(group_core& g, child_base* c) {
  if (g.deadline_timer_.load(std::memory_order_relaxed) != 0 &&
      g.deadline_passed_.load(std::memory_order_seq_cst))
    g.cancel(end_reason::deadline);
  if (g.cancelled()) {  // a cancelled group starts nothing: the child ends cancelled now
    if (g.options_.max_concurrency != 0) {
      std::lock_guard lock(g.mutex_);
      ++g.running_;  // child_ended gives it back
    }
    c->started.store(true, std::memory_order_relaxed);  // not yet published: no race
    c->execute();
    return true;
  }
  if (g.options_.max_concurrency != 0) {
    std::exception_ptr unqueued;
    {
      std::lock_guard lock(g.mutex_);
      // First come, first started: while older children wait for a slot, a new one waits
      // behind them even if a slot is free for a moment (release_slot is about to hand it
      // to the oldest). A child may wait on an older sibling, never the other way round.
      if (g.running_ >= g.options_.max_concurrency || g.queued_head_ != g.queued_.size()) {
        try {
          c->held.store(true, std::memory_order_relaxed);  // not yet published: no race
          g.queued_.push_back(c);
          return true;
        } catch (...) {
          unqueued = std::current_exception();
        }
      }
      ++g.running_;  // child_ended gives it back (also for a child that failed to queue)
    }
    if (unqueued) {
      fail_unqueued(c, std::move(unqueued));
      return true;
    }
  }
  return false;  // a slot is free: the caller submits it
}

void group_core::child_ended() noexcept {
  if (options_.max_concurrency != 0) release_slot();
  lib_access::count_down(*this, 1);  // after this, `this` may be destroyed
}

// Gives a finished child's slot back and starts waiting children while slots are free.
// The slot goes to the oldest waiting child in the same critical section that frees it:
// with a gap between the two, a child spawned in the gap took the slot, and an older
// sibling it waits on stayed queued behind it for ever (torture seed 2, 2026-12-01).
// A waiting child that cannot be queued ends failed right here (fail_unqueued), and its
// own end comes back through this function; that inner call only gives the slot back, so
// this loop, not the stack, works through a long waiting list.
void group_core::release_slot() noexcept {
  static thread_local const group_core* draining = nullptr;
  // Under mutex_: the oldest waiting child, now holding a slot, if a slot is free.
  auto take_waiting_child = [this]() noexcept -> child_base* {
    // `<`, not "a slot was freed": after a child that failed to queue took a slot over
    // the limit (submit), its end must not start another.
    if (running_ >= options_.max_concurrency || queued_head_ == queued_.size()) return nullptr;
    child_base* c = queued_[queued_head_++];
    ++running_;
    // release: a waiter that sees it cleared may claim and run it (child_run_inline); the
    // claim flag still makes it run once.
    c->held.store(false, std::memory_order_release);
    if (queued_head_ == queued_.size()) {
      queued_.clear();
      queued_head_ = 0;
    }
    return c;
  };
  const bool nested = draining == this;  // the loop below, further up this stack, goes on
  child_base* next;
  {
    std::lock_guard lock(mutex_);
    --running_;
    next = nested ? nullptr : take_waiting_child();
  }
  if (next == nullptr) return;
  const group_core* const outer = draining;
  draining = this;
  while (next != nullptr) {
    try {
      detail::submit(*pool_, next);
    } catch (...) {
      // Published already: once `held` was cleared, a waiter on its handle may have
      // claimed and run it (child_run_inline). Then its end gives the slot back, and the
      // reference it took for the queued job, which will never be queued, is ours to drop.
      // (Found by review, 2026-12-02; before, the child ran twice.)
      if (child_claim(next)) {
        fail_unqueued(next, std::current_exception());
      } else {
        child_release(next);
      }
    }
    std::lock_guard lock(mutex_);
    next = take_waiting_child();
  }
  draining = outer;
}

void group_core::record_failure(child_base* c) noexcept {
  if (detached_root_) {
    pool_->report_unhandled(c->error, c->name ? std::string_view(*c->name) : std::string_view());
    return;
  }
  bool kept = false;
  {
    std::lock_guard lock(mutex_);
    try {
      failures_.push_back(c);
      kept = true;
    } catch (...) {  // out of memory: join() still says that this many more failed
      ++unkept_failures_;
    }
  }
  // The group's reference, until join reports the failure. Taken before this child's
  // completion (child_end's fetch_or), while the run and handle still hold theirs, which
  // is before join can look.
  if (kept) c->refs.fetch_add(1, std::memory_order_relaxed);
  // relaxed: read after the join's acquire on counts_, which this child's end releases.
  failure_count_.fetch_add(1, std::memory_order_relaxed);
  if (options_.on_failure == failure_policy::cancel_siblings) cancel(end_reason::failure);
}

void group_core::cancel(end_reason why) noexcept {
  end_reason expected = end_reason::none;
  reason_.compare_exchange_strong(expected, why, std::memory_order_acq_rel);
  request();
}

void group_core::cancel_after(std::chrono::nanoseconds delay) {
  auto& timers = pool_->timers();
  if (const auto t = deadline_timer_.exchange(0, std::memory_order_relaxed))
    timers.cancel(t);  // waits out a firing callback
  if (delay.count() <= 0) {
    // Passed already: cancel now, not when the timer thread gets to it, so that
    // cancelled() is true on return and no child spawned next runs. Even with nothing
    // unfinished: the deadline passed before the work was done (asyncio's timeout(0)).
    deadline_passed_.store(true, std::memory_order_seq_cst);
    deadline_at_ns_.store(0, std::memory_order_relaxed);
    cancel(end_reason::deadline);
    return;
  }
  // The new deadline replaces the old one, including the fact that the old one passed.
  deadline_passed_.store(false, std::memory_order_seq_cst);
  const auto when = std::chrono::steady_clock::now() + delay;
  deadline_at_ns_.store(when.time_since_epoch().count(), std::memory_order_relaxed);
  deadline_timer_.store(timers.schedule(when, &on_group_deadline, this), std::memory_order_relaxed);
}

void group_core::cancel_deadline_timer() noexcept {
  // Only the owner writes the timer id (cancel_after, join, destruction), and this is the
  // owner: the load saves the exchange's locked instruction on every group without one.
  if (deadline_timer_.load(std::memory_order_relaxed) == 0) return;
  if (const auto t = deadline_timer_.exchange(0, std::memory_order_relaxed))
    pool_->timers().cancel(t);  // waits out a firing callback
}

void group_core::wait_all() noexcept {
  group_wait_target target(counts_);
  try {
    wait_on(target);
  } catch (...) {
    // wait_on throws nothing: a waiting worker runs jobs (noexcept) and never grows its
    // deque to take injected ones (find_work). If that ever changes, leaving early here
    // would let a child outlive its group.
    std::terminate();
  }
}

std::vector<child_base*> group_core::take_failures(std::size_t& unkept) noexcept {
  std::vector<child_base*> f;
  failure_count_.store(0, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    f.swap(failures_);
    unkept = std::exchange(unkept_failures_, 0);
  }
  std::sort(f.begin(), f.end(), [](auto* a, auto* b) { return a->index < b->index; });
  return f;
}

bool group_core::is_own_descendant_running() const noexcept {
  // The usual joiner is the task that made the group, which cannot descend from it.
  if (current_node == up()) return false;
  walk_guard guard;
  for (const cancel_node* n = current_node; n != nullptr; n = n->up())
    if (n->up() == this) return true;
  return false;
}

namespace {

enum class join_refusal { already_joined, from_own_child, concurrent_joiner };

// Out of line, like the failure report below: the common join then builds no string and
// no vector, and saves fewer registers.
[[noreturn, gnu::noinline]] void refuse_join(const group_core& g, join_refusal why) {
  switch (why) {
    case join_refusal::already_joined:
      throw std::logic_error("cohort::task_group::join: group " + group_label(g) +
                             " was already joined");
    case join_refusal::from_own_child:
      throw std::logic_error("cohort::task_group::join: called from inside a child of group " +
                             group_label(g) + "; a group cannot wait for itself (deadlock)");
    case join_refusal::concurrent_joiner:
      break;
  }
  throw std::logic_error("cohort::task_group::join: group " + group_label(g) +
                         " is being joined by another thread; join it once");
}

}  // namespace

namespace {

// The kept failures as one task_group_error, in spawn order; returns if none was kept
// after all. Out of line for the same reason as refuse_join.
[[gnu::noinline]] void throw_kept_failures(group_core& g) {
  std::size_t unkept = 0;
  const std::vector<child_base*> failed = lib_access::take_failures(g, unkept);
  if (failed.empty() && unkept == 0) return;
  std::vector<std::exception_ptr> errors;
  std::vector<std::string> names;
  errors.reserve(failed.size() + 1);
  names.reserve(failed.size() + 1);
  for (child_base* c : failed) {
    errors.push_back(c->error);
    names.push_back(c->name ? *c->name : std::string());
    c->observed.store(true, std::memory_order_relaxed);
    child_release(c);
  }
  if (unkept != 0) {
    errors.push_back(std::make_exception_ptr(std::bad_alloc()));
    names.push_back(unkept_label(unkept));
  }
  throw task_group_error(std::move(errors), names, g.spawned());
}

}  // namespace

void group_core::join() {
  if (joined_.load(std::memory_order_acquire)) refuse_join(*this, join_refusal::already_joined);
  if (is_own_descendant_running()) refuse_join(*this, join_refusal::from_own_child);
  // One joiner at a time: a second one would return normally once the first took the
  // failures, losing them for its caller. acq_rel: orders this against the first
  // joiner's joined_ store.
  if (joining_.exchange(true, std::memory_order_acq_rel))
    refuse_join(*this, join_refusal::concurrent_joiner);
  if (joined_.load(std::memory_order_acquire)) {  // the other joiner finished meanwhile
    joining_.store(false, std::memory_order_relaxed);
    refuse_join(*this, join_refusal::already_joined);
  }
  // A deadline that passed before the timer thread got to it counts all the same.
  if (const auto at = deadline_at_ns_.load(std::memory_order_relaxed);
      at != 0 && std::chrono::steady_clock::now().time_since_epoch().count() >= at &&
      !deadline_passed_.load(std::memory_order_seq_cst))
    deadline_passed();
  // The common join: the task that made the group runs its children left on top of its
  // own deque, then finds the count at zero without entering the general wait. A thread
  // outside the pool does the same in its slot, where its spawns went (outside_slots.hpp).
  bool done = false;
  // relaxed: a hint of what to run; the acquire load below decides.
  if (const std::uint64_t counts = counts_.load(std::memory_order_relaxed);
      current_node == up() && (counts & count_mask) != 0) {
    if (((counts >> 32) & spawned_mask) >= 2)
      done = lib_access::run_children_credited(*this);
    else
      run_own_children(*this, nullptr);  // one child (fib's shape): no credit to gain
  }
  // acquire: pairs with the last child's acq_rel decrement (child_ended), as in done().
  if (!done && (counts_.load(std::memory_order_acquire) & count_mask) != 0) wait_all();
  joined_.store(true, std::memory_order_release);
  joining_.store(false, std::memory_order_release);
  cancel_deadline_timer();
  if (failure_count_.load(std::memory_order_relaxed) != 0) throw_kept_failures(*this);
  if (reason_.load(std::memory_order_acquire) == end_reason::deadline) throw timeout_error();
  if (ancestors_cancelled()) throw task_cancelled();  // an enclosing cancel wins over our own
}

void group_core::abandon() noexcept {
  if (!joined_.load(std::memory_order_acquire)) {
    if (unfinished() != 0) cancel(end_reason::own_cancel);
    wait_all();
    joined_.store(true, std::memory_order_release);
  }
  cancel_deadline_timer();
  if (failure_count_.load(std::memory_order_relaxed) != 0) report_unobserved();
}

std::size_t group_core::failure_count() const {
  std::lock_guard lock(mutex_);
  return failures_.size() + unkept_failures_;
}

void group_core::report_unobserved() noexcept {
  std::size_t unkept = 0;
  for (child_base* c : take_failures(unkept)) {
    if (!c->observed.load(std::memory_order_relaxed)) {
      std::string label = c->name ? *c->name : std::string("(unnamed)");
      if (!options_.name.empty()) label = options_.name + "/" + label;
      pool_->report_unhandled(c->error, label);
    }
    child_release(c);
  }
  if (unkept != 0) {
    try {
      pool_->report_unhandled(std::make_exception_ptr(std::bad_alloc()), unkept_label(unkept));
    } catch (...) {  // still out of memory: nothing more we can say
    }
  }
}

}  // namespace cohort::detail
