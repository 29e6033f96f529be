#include "sleep.hpp"

#include "futex.hpp"

namespace cohort::detail {

sleep_module::sleep_module(std::size_t workers) : n_(workers), slots_(new slot[workers]) {}

void sleep_module::end_search() noexcept {
  // acq_rel is enough here: this only affects how eagerly we wake, not correctness.
  const std::uint64_t before = counters_.fetch_sub(one_searching, std::memory_order_acq_rel);
  if (searching(before) == 1 && sleeping(before) != 0) wake_any();
}

std::uint32_t sleep_module::announce_sleep(std::size_t i) noexcept {
  slot& s = slots_[i];
  const std::uint32_t generation = s.generation.load(std::memory_order_acquire);
  s.state.store(asleep, std::memory_order_relaxed);
  // seq_cst: the Dekker half of the sleeper (see the header). The worker's next look for
  // work must not be ordered before this.
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
  // moved us from sleeping to searching already.
  if (slots_[i].state.exchange(awake, std::memory_order_acq_rel) == asleep)
    counters_.fetch_add(one_searching - one_sleeping, std::memory_order_relaxed);
}

bool sleep_module::claim(std::size_t i) noexcept {
  std::uint32_t expected = asleep;
  if (!slots_[i].state.compare_exchange_strong(expected, awake, std::memory_order_acq_rel,
                                               std::memory_order_relaxed))
    return false;
  counters_.fetch_add(one_searching - one_sleeping, std::memory_order_relaxed);
  return true;
}

void sleep_module::wake(std::size_t i) noexcept {
  if (!claim(i)) return;  // awake already: it will see what it is looking for
  slot& s = slots_[i];
  // release: whatever the waker published before is visible to the woken worker.
  s.generation.fetch_add(1, std::memory_order_release);
  futex_wake_one(s.generation);
}

void sleep_module::wake_any() noexcept {
  const std::size_t start = next_victim_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t k = 0; k < n_; ++k) {
    const std::size_t i = (start + k) % n_;
    if (slots_[i].state.load(std::memory_order_relaxed) != asleep) continue;
    if (!claim(i)) continue;
    slots_[i].generation.fetch_add(1, std::memory_order_release);
    futex_wake_one(slots_[i].generation);
    return;
  }
}

void sleep_module::notify_injected_job() noexcept {
  // The submitter's half of the Dekker argument: the job's publication (a seq_cst store
  // of the queue's size) precedes this seq_cst load in the single total order, as the
  // sleeper's seq_cst RMW precedes its seq_cst look at the size. No fence needed.
  const std::uint64_t c = counters_.load(std::memory_order_seq_cst);
  if (sleeping(c) != 0 && searching(c) == 0) wake_any();
}

void sleep_module::wake_all() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (std::size_t i = 0; i < n_; ++i) {
    claim(i);
    slots_[i].generation.fetch_add(1, std::memory_order_release);
    futex_wake_all(slots_[i].generation);
  }
}

}  // namespace cohort::detail
