// SPDX-License-Identifier: Apache-2.0
// Worker slots for threads outside the pool.
//
// A thread that is not one of the pool's workers (main, usually) and spawns into the
// pool gets a slot: a `worker` with no thread of its own (worker::outside()), whose deque
// it pushes on as a worker pushes on its own. A spawn from outside is then a push with no
// lock and no shared counter (the injection queue takes a lock per job), workers steal
// from the slot as from a peer, and when the thread joins a group it enters its slot
// (outside_slot_scope) and runs that group's children from the top of the deque, as the
// workers' common join does: with one worker, two threads run the children, and the
// children the joiner runs never cross to another core.
//
// While the thread runs a job in its slot, it *is* a worker of the pool in every way the
// library can see: current_worker is the slot, so the job's own spawns, joins, gathers,
// dump() frames, traces and counters work as on any worker. Only the sleep module does
// not count it (it is not one of the `workers` the user asked for): it never parks, and
// when it blocks in a wait no other thread takes its place (worker::enter_blocked).
//
// Ownership: a slot belongs to one thread at a time (Chase-Lev: only the owner pushes and
// pops). A thread claims a free slot on its first spawn into a pool and gives it back when
// it exits; a slot given back may still hold jobs, which thieves (or its next owner)
// take. With every slot taken (max_slots threads at once) a thread uses the injection
// queue, as before. Slots are never freed while the pool lives, so a thief never touches
// a freed deque; the table is shared (shared_ptr) with the threads that hold a slot, so a
// thread that exits after the pool died gives its slot back to memory that still exists.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>

namespace cohort::detail {

class pool;
class worker;

class outside_slot_table {
 public:
  static constexpr std::size_t max_slots = 64;

  // Slot k is a worker of `p` with index first_index + k (its trace lane and dump name).
  outside_slot_table(pool& p, std::size_t first_index) noexcept;
  ~outside_slot_table();
  outside_slot_table(const outside_slot_table&) = delete;
  outside_slot_table& operator=(const outside_slot_table&) = delete;

  // Slots made so far; entries below it are non-null. acquire: pairs with the release
  // publication in claim(); a thief that sees the count sees the built slot.
  std::size_t count() const noexcept { return count_.load(std::memory_order_acquire); }
  worker* at(std::size_t k) const noexcept { return slots_[k].load(std::memory_order_acquire); }

  // A free slot for the calling thread (made if none is free) and its number in `k`; null
  // when all are taken or out of memory.
  worker* claim(std::size_t& k) noexcept;
  // The holder of slot k is done with it (thread exit). release: pairs with the next
  // claimer's acquire; it sees the deque as this holder left it.
  void release(std::size_t k) noexcept { held_[k].store(false, std::memory_order_release); }

  // The pool is gone: nobody steals any more (read by threads that still hold a slot).
  void retire() noexcept { retired_.store(true, std::memory_order_release); }
  bool retired() const noexcept { return retired_.load(std::memory_order_acquire); }

 private:
  pool* pool_;
  std::size_t first_index_;
  std::mutex grow_mutex_;  // serializes making slots
  std::atomic<std::size_t> count_{0};
  std::atomic<worker*> slots_[max_slots]{};
  std::atomic<bool> held_[max_slots]{};
  std::unique_ptr<worker> owned_[max_slots];  // written under grow_mutex_
  std::atomic<bool> retired_{false};
};

// The calling thread's slot: the table it belongs to, and the slot. A cache of the last
// pool this thread spawned into from outside (the slow path keeps the full list).
extern constinit thread_local const outside_slot_table* cached_outside_table;
extern constinit thread_local worker* cached_outside_slot;

// The calling thread's slot in `p`, claimed on first use; null when it cannot have one
// (use the injection queue). Outside the pool only.
worker* claim_outside_slot(pool& p) noexcept;
// The calling thread's slot in `p` if it holds one already; never claims.
worker* held_outside_slot(const pool& p) noexcept;

// While it lives, the calling thread (outside the pool) is its slot's worker.
class outside_slot_scope {
 public:
  explicit outside_slot_scope(worker* slot) noexcept;
  ~outside_slot_scope();
  outside_slot_scope(const outside_slot_scope&) = delete;
  outside_slot_scope& operator=(const outside_slot_scope&) = delete;

 private:
  worker* slot_;
  worker* outer_;
};

}  // namespace cohort::detail
