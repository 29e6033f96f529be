// SPDX-License-Identifier: Apache-2.0
#include "sleep.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "deque.hpp"  // under_tsan
#include "futex.hpp"

namespace cohort::detail {
namespace {

#if defined(__linux__)
long membarrier(int cmd) noexcept {
  return ::syscall(__NR_membarrier, cmd, 0u, 0);
}
#endif

// Registers this process for expedited membarrier once; false where the kernel lacks it.
// ThreadSanitizer does not model membarrier, so it always gets the symmetric fences.
bool membarrier_available() noexcept {
  static const bool available = [] {
    if (under_tsan) return false;
    if (const char* v = std::getenv("COHORT_PUSH_FENCE"); v != nullptr && std::strcmp(v, "1") == 0)
      return false;
#if defined(__linux__)
    const long cmds = membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
    return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
#else
    return false;
#endif
  }();
  return available;
}

}  // namespace

sleep_module::sleep_module(std::size_t limit, std::size_t capacity,
                           bool (*spawn_spare)(void*, std::size_t), void* ctx)
    : limit_(limit),
      capacity_(capacity),
      spawn_spare_(spawn_spare),
      ctx_(ctx),
      asymmetric_(membarrier_available()),
      slots_(new slot[capacity]) {
  // The primaries start running (not searching: they will begin_search when idle).
  counters_.store(limit * one_thread, std::memory_order_relaxed);
}

void sleep_module::barrier_before_last_look() noexcept {
  // StoreLoad: our counters RMW before the look at deques and queue. Partner: the
  // publisher's barrier. Kept even with membarrier: it orders our own RMW and loads.
  std::atomic_thread_fence(std::memory_order_seq_cst);
#if defined(__linux__)
  if (asymmetric_) membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
#endif
}

void sleep_module::end_search() noexcept {
  // acq_rel is enough here: this only affects how eagerly we wake, not correctness.
  const std::uint64_t before = counters_.fetch_sub(one_searching, std::memory_order_acq_rel);
  const std::uint64_t after = before - one_searching;
  if (field(before, searching_shift) == 1 && field(after, sleeping_shift) != 0 &&
      active(after) < limit_)
    wake_any();
}

std::uint32_t sleep_module::announce_sleep(std::size_t i) noexcept {
  slot& s = slots_[i];
  const std::uint32_t generation = s.generation.load(std::memory_order_acquire);
  s.state.store(asleep, std::memory_order_relaxed);
  // seq_cst RMW: the sleeper's store of the Dekker pair (the barrier follows).
  counters_.fetch_add(one_sleeping - one_searching, std::memory_order_seq_cst);
  return generation;
}

void sleep_module::sleep(std::size_t i, std::uint32_t generation,
                         std::chrono::nanoseconds timeout) noexcept {
  slot& s = slots_[i];
  // acquire: pairs with the release bump in wake(); a bump since announce_sleep means
  // somebody woke us already.
  if (s.generation.load(std::memory_order_acquire) != generation) return;
  futex_wait(s.generation, generation, timeout);
}

void sleep_module::after_sleep(std::size_t i) noexcept {
  // If nobody claimed us, we leave the sleeping count ourselves; a waker that claimed us
  // moved us from sleeping to searching already (and told the guard).
  if (slots_[i].state.exchange(awake, std::memory_order_acq_rel) == asleep) {
    counters_.fetch_add(one_searching - one_sleeping, std::memory_order_relaxed);
    note_active();
  }
}

void sleep_module::monitor_rest(std::chrono::nanoseconds timeout) noexcept {
  // seq_cst store, then seq_cst load: the guard's half of the Dekker pair with
  // note_active (a thread's counters RMW, fence, load of this word).
  monitor_resting_.store(1, std::memory_order_seq_cst);
  if (active(counters_.load(std::memory_order_seq_cst)) == 0)
    futex_wait(monitor_resting_, 1, timeout);
  monitor_resting_.store(0, std::memory_order_relaxed);
}

void sleep_module::wake_monitor() noexcept {
  if (monitor_resting_.exchange(0, std::memory_order_relaxed) != 0)
    futex_wake_one(monitor_resting_);
}

void sleep_module::block(bool searching) noexcept {
  // seq_cst RMW: the blocker's store of the Dekker pair, like announce_sleep.
  counters_.fetch_add(one_blocked - (searching ? one_searching : 0), std::memory_order_seq_cst);
}

void sleep_module::compensate(bool work_visible) noexcept {
  if (work_visible) maybe_wake(counters_.load(std::memory_order_relaxed));
}

bool sleep_module::claim(std::size_t i) noexcept {
  std::uint32_t expected = asleep;
  if (!slots_[i].state.compare_exchange_strong(expected, awake, std::memory_order_acq_rel,
                                               std::memory_order_relaxed))
    return false;
  counters_.fetch_add(one_searching - one_sleeping, std::memory_order_relaxed);
  note_active();
  return true;
}

void sleep_module::wake(std::size_t i) noexcept {
  if (!claim(i)) return;  // awake already: it will see what it is looking for
  slot& s = slots_[i];
  // release: whatever the waker published before is visible to the woken worker.
  s.generation.fetch_add(1, std::memory_order_release);
  futex_wake_one(s.generation);
}

bool sleep_module::wake_any() noexcept {
  const std::size_t n = threads();
  const std::size_t start = next_victim_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (start + k) % n;
    if (slots_[i].state.load(std::memory_order_relaxed) != asleep) continue;
    if (!claim(i)) continue;
    slots_[i].generation.fetch_add(1, std::memory_order_release);
    futex_wake_one(slots_[i].generation);
    return true;
  }
  return false;
}

void sleep_module::wake_or_spawn() noexcept {
  if (wake_any()) return;
  // Nobody sleeps, nobody searches, and fewer than `limit` threads are active: some are
  // blocked. Reserve a spare (it starts searching) unless another thread just did.
  std::uint64_t c = counters_.load(std::memory_order_relaxed);
  for (;;) {
    if (!wants_another(c) || field(c, sleeping_shift) != 0) return;
    const std::size_t index = field(c, threads_shift);
    if (index >= capacity_) {
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true, std::memory_order_relaxed))
        std::fprintf(stderr,
                     "cohort: %zu threads are blocked in waits and no spare thread is left "
                     "(limit %zu); queued work may wait until one unblocks\n",
                     field(c, blocked_shift), capacity_);
      return;
    }
    if (counters_.compare_exchange_weak(c, c + one_thread + one_searching,
                                        std::memory_order_acq_rel, std::memory_order_relaxed)) {
      // A thread that could not start keeps its index (later spares took the next ones)
      // and counts as blocked for ever, so `active` stays right.
      if (!spawn_spare_(ctx_, index))
        counters_.fetch_add(one_blocked - one_searching, std::memory_order_acq_rel);
      else
        note_active();
      return;
    }
  }
}

void sleep_module::wake_all() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const std::size_t n = threads();
  for (std::size_t i = 0; i < n; ++i) {
    claim(i);
    slots_[i].generation.fetch_add(1, std::memory_order_release);
    futex_wake_all(slots_[i].generation);
  }
}

}  // namespace cohort::detail
