// SPDX-License-Identifier: Apache-2.0
// A 32-bit word a thread can sleep on, with an optional timeout. Linux futex directly
// (std::atomic::wait has no timeout); elsewhere std::atomic::wait, where timed waits
// degrade to short sleeps.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cohort::detail {

// Sleeps while word == expected, at most `timeout` (negative: no limit). Spurious
// returns are allowed; callers re-check their condition.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::chrono::nanoseconds timeout = std::chrono::nanoseconds(-1)) noexcept;
void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept;
void futex_wake_all(std::atomic<std::uint32_t>& word) noexcept;

}  // namespace cohort::detail
