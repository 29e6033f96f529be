// SPDX-License-Identifier: Apache-2.0
// Threads outside the pool that are asleep in a wait (join, get, wait, as_completed),
// listed so dump() can say who waits on what. Only the slow path (a thread about to
// sleep) touches this list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cohort::detail {

struct blocked_thread {
  long tid = 0;
  std::string thread_name;
  const void* key = nullptr;  // the parking key it sleeps on (address only)
  std::size_t keys = 1;       // > 1: it waits for the first of that many (key is one)
  std::int64_t since_ns = 0;
};

class blocked_scope {
 public:
  explicit blocked_scope(const void* key, std::size_t keys = 1) noexcept;
  ~blocked_scope();
  blocked_scope(const blocked_scope&) = delete;
  blocked_scope& operator=(const blocked_scope&) = delete;

 private:
  static constexpr std::size_t unlisted = static_cast<std::size_t>(-1);
  std::size_t slot_ = unlisted;
};

std::vector<blocked_thread> blocked_threads();
std::size_t blocked_thread_count() noexcept;

}  // namespace cohort::detail
