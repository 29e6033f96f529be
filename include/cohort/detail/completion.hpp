// SPDX-License-Identifier: Apache-2.0
// A completion word: one byte that says "done" and whether anyone sleeps on it.
//
// A task's status byte and a gather child's latch are completion words. The completer
// sets `done_bit` with an exchange; a waiter that wants to sleep first sets `waiters_bit`
// (under the parking lot's bucket lock, see lib/parking_lot.hpp), so the completer knows
// it must wake somebody and never touches the word again after its exchange (the word
// may live on a frame that is gone the moment the waiter sees done).
#pragma once

#include <cohort/export.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

namespace cohort::detail {

inline constexpr std::uint8_t done_bit = 0x40;
inline constexpr std::uint8_t waiters_bit = 0x80;
inline constexpr std::uint8_t value_mask = 0x1f;  // 0x20 is a child's (child_base.hpp)

using completion_word = std::atomic<std::uint8_t>;

// Wakes everyone parked on `word` (called only when the completer saw waiters_bit).
COHORT_EXPORT void wake_completion_waiters(const completion_word* word) noexcept;

// Publishes `final_value | done_bit`; acq_rel: release publishes the result to waiters,
// acquire orders the waiters_bit read after any waiter's registration.
inline void complete(completion_word& word, std::uint8_t final_value) noexcept {
  const std::uint8_t old =
      word.exchange(static_cast<std::uint8_t>(final_value | done_bit), std::memory_order_acq_rel);
  if (old & waiters_bit) wake_completion_waiters(&word);
}

inline bool is_complete(const completion_word& word) noexcept {
  return (word.load(std::memory_order_acquire) & done_bit) != 0;
}

// Waits until the word is complete. On a worker it runs other jobs meanwhile: those the
// current task pushed on its own deque first, then stolen ones; never the jobs that were
// on its deque before the current task started, which may be siblings waiting on it.
// Elsewhere it blocks without spinning.
COHORT_EXPORT void wait_complete(completion_word& word);
// The same with a deadline; true when complete.
COHORT_EXPORT bool wait_complete_for(completion_word& word, std::chrono::nanoseconds timeout);
// Waits until any of the words is complete; false if the timeout passed first.
COHORT_EXPORT bool wait_any_complete(std::span<completion_word* const> words,
                                     std::optional<std::chrono::nanoseconds> timeout);

}  // namespace cohort::detail
