// SPDX-License-Identifier: Apache-2.0
// Model check of the completion word and the parking lot (include/cohort/detail/
// completion.hpp, lib/parking_lot.*, lib/wait.cpp's block_on) and of a group's unfinished
// count (lib/task_group.cpp: child_ended, group_wait_target) and of a child's lifetime
// pair (child_base.hpp: child_end, child_drop_handle), under Relacy.
//
// Invariants:
//   - no lost wake-up: a waiter that parks is woken (Relacy reports a sleeper nobody
//     wakes as a DEADLOCK);
//   - the waiter sees the result written before completion (the result is an rl::var:
//     Relacy reports a read not ordered after the write as a DATA RACE);
//   - the completer never touches the word after its exchange (the last child never
//     touches the group after its decrement): the waiter frees the word as soon as it
//     sees done, and Relacy reports any later access to freed memory.
//
// The protocol is mirrored here step for step (those files do not go through
// lib/atomics.hpp; keep this file in step with them):
//   waiter:    while not done (acquire): lock bucket; fetch_or(waiters_bit, acq_rel); if
//              done was set, unlock and return; else link a record; unlock; sleep until
//              the record's `woken` word is set; unlink what no waker did
//   completer: exchange(value | done_bit, acq_rel); if the old value had waiters_bit:
//              lock bucket, unlink each record with this key, set its `woken` (release),
//              futex-wake; unlock
//   group:     a child ends with fetch_sub(1, acq_rel) and, if it was the last and saw
//              sleeper_bit, wakes the key; the joiner's done() loads acquire, its
//              announcement is fetch_or(sleeper_bit, acq_rel) under the bucket lock
#include <cstdint>

#include "model_check.hpp"

namespace {

using cohort::detail::atomic;

// ---- the parking lot: one bucket, keyed by address -----------------------------------
struct park_record {
  const void* key = nullptr;
  park_record* prev = nullptr;
  park_record* next = nullptr;
  rl::var<bool> queued;  // guarded by the bucket lock (Relacy checks that)
  atomic<std::uint32_t>* woken = nullptr;
};

struct parking_lot {
  rl::mutex mutex;
  park_record* head = nullptr;

  // Under the lock: announce(); if it says "not done yet", link r.
  template <class Announce>
  bool enter(const void* key, park_record& r, Announce announce) {
    mutex.lock($);
    const bool parked = announce();
    if (parked) {
      r.key = key;
      r.prev = nullptr;
      r.next = head;
      if (head) head->prev = &r;
      head = &r;
      r.queued($) = true;
    }
    mutex.unlock($);
    return parked;
  }
  void unlink(park_record& r) {
    if (r.prev)
      r.prev->next = r.next;
    else
      head = r.next;
    if (r.next) r.next->prev = r.prev;
    r.queued($) = false;
  }
  void leave(park_record& r) {
    mutex.lock($);
    if (r.queued($)) unlink(r);
    mutex.unlock($);
  }
  // The completer's side; `key` is only compared, never dereferenced.
  void unpark_all(const void* key) {
    mutex.lock($);
    park_record* r = head;
    while (r != nullptr) {
      park_record* next = r->next;
      if (r->key == key) {
        unlink(*r);
        r->woken->store(1, COHORT_MODEL_ORDER("lot.wake.woken_release", std::memory_order_release));
        r->woken->futex_wake(1);
      }
      r = next;
    }
    mutex.unlock($);
  }
};

// block_on (lib/wait.cpp): a thread outside the pool sleeps on a word of its own.
template <class Done, class Announce>
void block_on(parking_lot& lot, const void* key, Done done, Announce announce) {
  while (!done()) {
    auto* woken = new atomic<std::uint32_t>(0);
    auto* r = new park_record;
    r->woken = woken;
    r->queued($) = false;
    if (!lot.enter(key, *r, announce)) {
      delete r;
      delete woken;
      return;
    }
    while (woken->load(std::memory_order_acquire) == 0) woken->futex_wait(0);
    lot.leave(*r);
    delete r;
    delete woken;
  }
}

// ---- the completion word --------------------------------------------------------------
constexpr std::uint8_t done_bit = 0x40;
constexpr std::uint8_t waiters_bit = 0x80;

void complete(atomic<std::uint8_t>& word, std::uint8_t value, parking_lot& lot) {
  const std::uint8_t old =
      word.exchange(static_cast<std::uint8_t>(value | done_bit),
                    COHORT_MODEL_ORDER("completion.exchange", std::memory_order_acq_rel));
  // From here on the word may be gone: only its address is used, as a key.
  if (old & waiters_bit) lot.unpark_all(&word);
}

void wait_complete(atomic<std::uint8_t>& word, parking_lot& lot) {
  block_on(
      lot, &word,
      [&] {
        return (word.load(
                    COHORT_MODEL_ORDER("completion.done_acquire", std::memory_order_acquire)) &
                done_bit) != 0;
      },
      [&] {
        return (word.fetch_or(waiters_bit, COHORT_MODEL_ORDER("completion.announce",
                                                              std::memory_order_acq_rel)) &
                done_bit) == 0;
      });
}

// A task completes while a thread outside the pool waits on it, then frees it.
struct task_completion : rl::test_suite<task_completion, 2> {
  parking_lot lot;
  atomic<std::uint8_t>* word = nullptr;
  rl::var<int> result;

  void before() { word = new atomic<std::uint8_t>(0); }
  void thread(unsigned i) {
    if (i == 0) {
      result($) = 42;
      complete(*word, 1, lot);
    } else {
      wait_complete(*word, lot);
      RL_ASSERT(result($) == 42);
      delete word;  // the task's frame is gone the moment its waiter sees done
    }
  }
};

// Two waiters on one task (a join and a get), each parks its own record.
struct two_waiters : rl::test_suite<two_waiters, 3> {
  parking_lot lot;
  atomic<std::uint8_t>* word = nullptr;
  rl::var<int> result;

  void before() { word = new atomic<std::uint8_t>(0); }
  void thread(unsigned i) {
    if (i == 0) {
      result($) = 42;
      complete(*word, 1, lot);
    } else {
      wait_complete(*word, lot);
      RL_ASSERT(result($) == 42);
    }
  }
  void after() { delete word; }
};

// ---- a group's unfinished count -------------------------------------------------------
constexpr std::uint64_t sleeper_bit = std::uint64_t{1} << 63;
constexpr std::uint64_t count_mask = 0xffffffffu;

// Two children end while the joiner waits; the joiner then destroys the group.
struct group_join : rl::test_suite<group_join, 3> {
  parking_lot lot;
  atomic<std::uint64_t>* counts = nullptr;
  rl::var<int> child_result[2];

  void before() { counts = new atomic<std::uint64_t>(2); }
  void child_ended(atomic<std::uint64_t>& c) {
    const std::uint64_t before =
        c.fetch_sub(1, COHORT_MODEL_ORDER("group.child_ended", std::memory_order_acq_rel));
    // After this the group may be gone: only the address is used.
    if ((before & count_mask) == 1 && (before & sleeper_bit) != 0) lot.unpark_all(&c);
  }
  void thread(unsigned i) {
    if (i < 2) {
      child_result[i]($) = static_cast<int>(i) + 1;
      child_ended(*counts);
    } else {
      atomic<std::uint64_t>& c = *counts;
      block_on(
          lot, &c,
          [&] {
            return (c.load(COHORT_MODEL_ORDER("group.done_acquire", std::memory_order_acquire)) &
                    count_mask) == 0;
          },
          [&] {
            return (c.fetch_or(sleeper_bit,
                               COHORT_MODEL_ORDER("group.announce", std::memory_order_acq_rel)) &
                    count_mask) != 0;
          });
      RL_ASSERT(child_result[0]($) == 1);
      RL_ASSERT(child_result[1]($) == 2);
      delete counts;  // join returned: the group is destroyed
    }
  }
};

// The join credit (lib/join_credit.hpp): thread 0 runs two children of a group of three
// in a row and takes both off the count in one RMW (settle, lib_access::count_down),
// thread 1 runs the third, which counts itself down; the joiner waits, then destroys the
// group. Invariants as in group_join: no lost wake-up, every child's write visible to
// the joiner, nobody touches the word after the joiner freed it.
struct group_join_credited : rl::test_suite<group_join_credited, 3> {
  parking_lot lot;
  atomic<std::uint64_t>* counts = nullptr;
  rl::var<int> child_result[3];

  void before() { counts = new atomic<std::uint64_t>(3); }
  void thread(unsigned i) {
    atomic<std::uint64_t>& c = *counts;
    if (i == 0) {
      child_result[0]($) = 1;  // two children end on credit: no RMW each
      child_result[1]($) = 2;
      const std::uint64_t before =
          c.fetch_sub(2, COHORT_MODEL_ORDER("group.settle", std::memory_order_acq_rel));
      if ((before & count_mask) == 2 && (before & sleeper_bit) != 0) lot.unpark_all(&c);
    } else if (i == 1) {
      child_result[2]($) = 3;
      const std::uint64_t before =
          c.fetch_sub(1, COHORT_MODEL_ORDER("group.child_ended", std::memory_order_acq_rel));
      if ((before & count_mask) == 1 && (before & sleeper_bit) != 0) lot.unpark_all(&c);
    } else {
      block_on(
          lot, &c,
          [&] {
            return (c.load(COHORT_MODEL_ORDER("group.done_acquire", std::memory_order_acquire)) &
                    count_mask) == 0;
          },
          [&] {
            return (c.fetch_or(sleeper_bit,
                               COHORT_MODEL_ORDER("group.announce", std::memory_order_acq_rel)) &
                    count_mask) != 0;
          });
      RL_ASSERT(child_result[0]($) == 1);
      RL_ASSERT(child_result[1]($) == 2);
      RL_ASSERT(child_result[2]($) == 3);
      delete counts;
    }
  }
};

// ---- a child's lifetime pair (child_base.hpp) -----------------------------------------
// The run and the handle own the block together: the run's end sets done_bit, the
// handle's release sets handle_gone_bit, and whichever comes second frees the block
// (lib/task_group.cpp: child_end, child_drop_handle). Invariants: exactly one side frees
// it (Relacy reports a double free or a leak); the handle reads the result only after
// the run wrote it (DATA RACE otherwise); neither side touches the block after the other
// freed it (use after free).
constexpr std::uint8_t handle_gone_bit = 0x20;

struct child_block {
  atomic<std::uint8_t> status{0};
  rl::var<int> result;       // written by the run before done_bit
  rl::var<int> handle_note;  // written by the handle holder before it lets go
};

// The run's end: the result, then the completion, which also says whether the handle is
// gone; if it is, the block is ours to free.
void run_child(child_block* b) {
  b->result($) = 42;
  const std::uint8_t before = b->status.fetch_or(
      done_bit, COHORT_MODEL_ORDER("child.end.fetch_or", std::memory_order_acq_rel));
  if (before & handle_gone_bit) {
    RL_ASSERT(b->handle_note($) == 1);  // the holder's last write, ordered before our free
    delete b;
  }
}

// The handle's release after `observe` (a get() that found it done reads the result).
void drop_handle(child_block* b) {
  b->handle_note($) = 1;
  if ((b->status.load(COHORT_MODEL_ORDER("child.drop.done_acquire", std::memory_order_acquire)) &
       done_bit) == 0) {
    if ((b->status.fetch_or(handle_gone_bit,
                            COHORT_MODEL_ORDER("child.drop.fetch_or", std::memory_order_acq_rel)) &
         done_bit) == 0)
      return;  // the run frees it when it ends
  }
  RL_ASSERT(b->result($) == 42);  // destroying the result reads it
  delete b;
}

struct child_lifetime : rl::test_suite<child_lifetime, 2> {
  child_block* block = nullptr;
  void before() { block = new child_block; }
  void thread(unsigned i) {
    if (i == 0)
      run_child(block);
    else
      drop_handle(block);
  }
};

// ---- who runs a child: the job's taker, or a waiter through its handle ----------------
// worker::execute's claim (child_claim_taken) skips the exchange once the handle is gone:
// a waiter can run a child inline only through its handle, and it holds the handle until
// that run is done, so its release then finds done_bit and never sets handle_gone_bit.
// Invariant: the child runs exactly once (two runs race on `runs`, or count 2).
struct claimed_child {
  atomic<std::uint8_t> status{0};
  atomic<bool> started{false};
  rl::var<int> runs;
};

void run_once(claimed_child& c) {
  c.runs($) = c.runs($) + 1;
  c.status.fetch_or(done_bit, std::memory_order_acq_rel);
}

// The taker: worker::execute after popping or stealing the job.
void take_job(claimed_child& c) {
  const bool skip = (c.status.load(COHORT_MODEL_ORDER("child.claim_taken.gone_acquire",
                                                      std::memory_order_acquire)) &
                     handle_gone_bit) != 0 &&
                    !c.started.load(std::memory_order_relaxed);
  if (skip) {
    c.started.store(true, std::memory_order_relaxed);
    run_once(c);
  } else if (!c.started.exchange(true, std::memory_order_acq_rel)) {
    run_once(c);
  }
}

// The handle holder: maybe a get() that runs it inline (child_run_inline), then the
// handle's release (child_drop_handle; the freeing is child_lifetime's business).
void hold_handle(claimed_child& c, bool waits) {
  if (waits && !c.started.load(std::memory_order_relaxed) &&
      !c.started.exchange(true, std::memory_order_acq_rel))
    run_once(c);
  if ((c.status.load(std::memory_order_acquire) & done_bit) == 0)
    c.status.fetch_or(handle_gone_bit, std::memory_order_acq_rel);
}

// The deque hands the job to one taker (model_deque checks that), so one taker here.
template <bool Waits>
struct claim_race : rl::test_suite<claim_race<Waits>, 2> {
  claimed_child c;
  void before() { c.runs($) = 0; }
  void thread(unsigned i) {
    if (i == 0)
      take_job(c);
    else
      hold_handle(c, Waits);
  }
  void after() { RL_ASSERT(c.runs($) == 1); }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace cohort::model;
  using cohort::detail::mutation_kind;
  using std::memory_order_acq_rel;
  using std::memory_order_acquire;
  using std::memory_order_relaxed;
  using std::memory_order_release;
  const std::vector<model_test> tests = {
      test<task_completion>("completion.task"),
      test<two_waiters>("completion.two_waiters"),
      test<group_join>("completion.group_join"),
      test<group_join_credited>("completion.group_join_credited"),
      test<child_lifetime>("completion.child_lifetime"),
      test<claim_race<false>>("completion.claim_after_the_handle_is_gone"),
      test<claim_race<true>>("completion.claim_against_a_waiter_running_it"),
  };
  const auto weaken = mutation_kind::weaken;
  const auto split = mutation_kind::split;
  const std::vector<mutation_case> mutations = {
      must_fail("completion.exchange", split, memory_order_acq_rel,
                "(exchange -> load + plain store) a waiter's waiters_bit set in between is "
                "overwritten: nobody wakes it"),
      must_fail("completion.exchange", weaken, memory_order_relaxed,
                "the result is not published to a waiter that sees done"),
      must_fail("completion.exchange", weaken, memory_order_acquire,
                "as above: release is the half that publishes the result"),
      must_fail("completion.announce", split, memory_order_acq_rel,
                "a completion between the load and the store goes unseen by both sides"),
      must_fail("completion.announce", weaken, memory_order_relaxed,
                "a waiter whose announcement finds done returns at once: this acquire is "
                "the one that makes the result visible"),
      must_fail("completion.done_acquire", weaken, memory_order_relaxed,
                "the fast path's acquire of the result"),
      must_fail("group.child_ended", split, memory_order_acq_rel,
                "two children's decrements race: the count never reaches zero, or the "
                "last child misses sleeper_bit"),
      must_fail("group.child_ended", weaken, memory_order_relaxed,
                "a child's writes are not published to the joiner"),
      must_fail("group.announce", split, memory_order_acq_rel,
                "the last decrement between the load and the store goes unseen"),
      must_fail("group.announce", weaken, memory_order_relaxed,
                "a joiner whose announcement finds zero returns at once: this acquire "
                "is the one that makes the children's writes visible"),
      must_fail("group.done_acquire", weaken, memory_order_relaxed,
                "the fast path's acquire of the children's writes"),
      harmless("completion.exchange", weaken, memory_order_release,
               "its acquire half is not needed: the waiter sets waiters_bit under the "
               "bucket lock, so a completer that saw the bit takes the lock after the "
               "waiter linked its record (lock order plus coherence)"),
      harmless("completion.announce", weaken, memory_order_acquire,
               "its release half is not needed, by the same lock argument"),
      must_fail("group.settle", split, memory_order_acq_rel,
                "the settle and a child's own decrement race: the count never reaches "
                "zero, or the last one misses sleeper_bit"),
      must_fail("group.settle", weaken, memory_order_relaxed,
                "the credited children's writes are not published to the joiner"),
      harmless("group.settle", weaken, memory_order_release,
               "as group.child_ended: one release sequence with the other decrements"),
      harmless("group.child_ended", weaken, memory_order_release,
               "the decrements form one release sequence, so the joiner's acquire of the "
               "last one synchronizes with every child; the sleeper_bit read is an RMW "
               "and sees the newest value anyway"),
      harmless("group.announce", weaken, memory_order_acquire, "as completion.announce"),
      must_fail("child.end.fetch_or", split, memory_order_acq_rel,
                "the handle's fetch_or between the load and the store is lost: nobody frees "
                "the block, or both do"),
      must_fail("child.end.fetch_or", weaken, memory_order_acquire,
                "release is what publishes the result to a handle that sees done_bit"),
      must_fail("child.end.fetch_or", weaken, memory_order_release,
                "acquire is what orders the holder's last use before the run's free"),
      must_fail("child.drop.fetch_or", split, memory_order_acq_rel,
                "a completion between the load and the store is lost: nobody frees the "
                "block, or both do"),
      must_fail("child.drop.fetch_or", weaken, memory_order_acquire,
                "release is what hands the holder's last use to the run that frees"),
      must_fail("child.drop.fetch_or", weaken, memory_order_release,
                "acquire is what makes the result visible when the run completed between "
                "the load and the fetch_or"),
      must_fail("child.drop.done_acquire", weaken, memory_order_relaxed,
                "the fast path's acquire of the result (and of the run's last touch)"),
      harmless("child.claim_taken.gone_acquire", weaken, memory_order_relaxed,
               "exactly-once needs only the bit itself: a handle whose holder claimed the "
               "child releases it after done_bit and never sets handle_gone_bit, so seeing "
               "the bit means no waiter ever claimed; the job's own publication orders "
               "the rest"),
      harmless("lot.wake.woken_release", weaken, memory_order_relaxed,
               "the woken waiter's leave() takes the bucket lock the waker held after "
               "its exchange, and re-checks done with acquire"),
  };
  return model_main(argc, argv, tests, mutations);
}
