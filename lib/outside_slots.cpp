// SPDX-License-Identifier: Apache-2.0
#include "outside_slots.hpp"

#include <algorithm>
#include <vector>

#include "pool.hpp"
#include "worker.hpp"

namespace cohort::detail {

constinit thread_local const outside_slot_table* cached_outside_table = nullptr;
constinit thread_local worker* cached_outside_slot = nullptr;

outside_slot_table::outside_slot_table(pool& p, std::size_t first_index) noexcept
    : pool_(&p), first_index_(first_index) {}

outside_slot_table::~outside_slot_table() = default;

worker* outside_slot_table::claim(std::size_t& k) noexcept {
  const std::size_t n = count();
  for (std::size_t i = 0; i < n; ++i) {
    bool expected = false;
    // acquire: we see the deque as its last holder left it (its release in release()).
    if (!held_[i].load(std::memory_order_relaxed) &&
        held_[i].compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      k = i;
      return at(i);
    }
  }
  std::lock_guard lock(grow_mutex_);
  const std::size_t i = count_.load(std::memory_order_relaxed);
  if (i == max_slots) return nullptr;
  try {
    owned_[i] = std::make_unique<worker>(*pool_, first_index_ + i, worker::outside_slot);
  } catch (...) {
    return nullptr;  // the injection queue still works
  }
  worker* w = owned_[i].get();
  held_[i].store(true, std::memory_order_relaxed);  // not yet published
  slots_[i].store(w, std::memory_order_release);
  // release: a thief that reads the new count (acquire) finds the slot built.
  count_.store(i + 1, std::memory_order_release);
  k = i;
  return w;
}

namespace {

// The slots this thread holds, one per pool it spawned into from outside. The shared
// table keeps the slot's memory alive after its pool died, and keeps the table's address
// from being reused by a new pool while the cache may still name it.
struct held_slot {
  std::shared_ptr<outside_slot_table> table;
  std::size_t k;
  worker* slot;
};

// Set once this thread's list is destroyed (thread exit): a spawn from a later
// thread_local destructor uses the injection queue instead of a destroyed list.
constinit thread_local bool slots_gone = false;

struct held_slots {
  std::vector<held_slot> list;
  ~held_slots() {
    // Thread exit: give every slot back. Jobs still in it stay visible to thieves and
    // to its next holder.
    for (held_slot& h : list) h.table->release(h.k);
    cached_outside_table = nullptr;
    cached_outside_slot = nullptr;
    slots_gone = true;
  }
};

thread_local held_slots this_thread_slots;

}  // namespace

worker* held_outside_slot(const pool& p) noexcept {
  const outside_slot_table* t = &p.outside_slots();
  if (cached_outside_table == t) return cached_outside_slot;
  if (slots_gone) return nullptr;
  for (const held_slot& h : this_thread_slots.list)
    if (h.table.get() == t) return h.slot;
  return nullptr;
}

worker* claim_outside_slot(pool& p) noexcept {
  if (slots_gone) return nullptr;
  auto& list = this_thread_slots.list;
  const outside_slot_table* t = &p.outside_slots();
  worker* slot = nullptr;
  for (const held_slot& h : list)
    if (h.table.get() == t) slot = h.slot;
  if (slot == nullptr) {
    // Forget the slots of pools that died (their tables go with the last holder). The
    // cache may name one of them: a freed table's address could come back in a new pool.
    cached_outside_table = nullptr;
    cached_outside_slot = nullptr;
    std::erase_if(list, [](const held_slot& h) { return h.table->retired(); });
    std::shared_ptr<outside_slot_table> table = p.outside_slots_shared();
    std::size_t k = 0;
    slot = table->claim(k);
    if (slot == nullptr) return nullptr;
    try {
      list.push_back(held_slot{std::move(table), k, slot});
    } catch (...) {  // out of memory remembering it: give it back, use the injection queue
      p.outside_slots_shared()->release(k);
      return nullptr;
    }
  }
  cached_outside_table = t;
  cached_outside_slot = slot;
  return slot;
}

outside_slot_scope::outside_slot_scope(worker* slot) noexcept
    : slot_(slot), outer_(current_worker) {
  current_worker = slot;
}

outside_slot_scope::~outside_slot_scope() {
  // The thread goes back to code that may block without cohort knowing: a job it popped
  // and put back meanwhile must not stay unannounced (worker::announce_own_jobs).
  slot_->announce_own_jobs();
  current_worker = outer_;
}

}  // namespace cohort::detail
