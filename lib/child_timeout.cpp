// SPDX-License-Identifier: Apache-2.0
// Per-child deadlines (task_options::timeout): arming a child's timer at spawn, its
// callback, and disarming it at the child's end (child_end, task_group.cpp).
//
// Rare, so nothing of it sits in the child's block but a flag: the armed timers live in
// one table, and a timer callback touches a child only while its entry is in the table.
// The child's end takes the entry out first, then cancels the timer, which waits out a
// callback in progress; only then is the entry freed.

#include "child_timeout.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <cohort/detail/group_core.hpp>

#include "pool.hpp"

namespace cohort::detail {

namespace {

struct child_timeout {
  pool* owner;
  child_base* child;
  std::uint64_t timer = 0;
  bool fired = false;  // guarded by the table's mutex
};

struct child_timeout_table {
  std::mutex mutex;
  std::unordered_map<const child_base*, child_timeout*> armed;  // guarded by mutex
};

child_timeout_table& child_timeouts() {
  static child_timeout_table* t = new child_timeout_table();  // timers may fire at exit
  return *t;
}

void on_child_deadline(void* arg) noexcept {
  auto* t = static_cast<child_timeout*>(arg);
  auto& table = child_timeouts();
  std::lock_guard lock(table.mutex);
  const auto it = table.armed.find(t->child);
  if (it == table.armed.end() || it->second != t) return;  // the child ended meanwhile
  t->fired = true;
  t->child->request();  // the child is alive: its end waits for this lock to take the entry
}

}  // namespace

bool disarm_child_timeout(child_base* c) noexcept {
  child_timeout* t = nullptr;
  {
    auto& table = child_timeouts();
    std::lock_guard lock(table.mutex);
    const auto it = table.armed.find(c);
    if (it == table.armed.end()) return false;
    t = it->second;
    table.armed.erase(it);
  }
  if (t->timer != 0) t->owner->timers().cancel(t->timer);  // waits out a running callback
  const bool fired = t->fired;  // after cancel(): no callback writes it any more
  delete t;
  return fired;
}

void group_core::arm_child_timeout(child_base* c, std::chrono::nanoseconds timeout) noexcept {
  // The child is not yet published: its fields are ours to write.
  try {
    auto owned = std::make_unique<child_timeout>(child_timeout{pool_, c});
    child_timeout* t = owned.get();
    auto& table = child_timeouts();
    {
      // In the table before the timer exists: a callback must find it, however soon.
      std::lock_guard lock(table.mutex);
      table.armed.emplace(c, t);
      owned.release();                            // owned by the table until the child's end
      if (timeout.count() <= 0) t->fired = true;  // passed already
    }
    c->has_timeout = true;
    if (timeout.count() <= 0) {
      c->flag.store(1, std::memory_order_relaxed);  // never starts
    } else {
      try {
        t->timer = pool_->timers().schedule(std::chrono::steady_clock::now() + timeout,
                                            &on_child_deadline, t);
      } catch (...) {
        {
          std::lock_guard lock(table.mutex);
          table.armed.erase(c);
        }
        delete t;
        c->has_timeout = false;
        throw;
      }
    }
  } catch (...) {
    // Out of memory arming it: the child ends failed with that, never called (as a child
    // that could not be queued; spawn() throws nothing once the block exists).
    c->error = std::current_exception();
    c->flag.store(1, std::memory_order_relaxed);
  }
}

}  // namespace cohort::detail
