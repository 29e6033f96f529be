// SPDX-License-Identifier: Apache-2.0
#include "parking_lot.hpp"

#include <array>
#include <cohort/detail/completion.hpp>

namespace cohort::detail {
namespace {
constexpr std::size_t bucket_count = 256;
}

parking_lot::bucket& parking_lot::bucket_for(const void* key) noexcept {
  static std::array<bucket, bucket_count> buckets;
  auto h = reinterpret_cast<std::uintptr_t>(key);
  h ^= h >> 17;
  h *= 0x9E3779B97F4A7C15ull;
  return buckets[(h >> 32) % bucket_count];
}

void parking_lot::link(bucket& b, park_record& r) noexcept {
  b.records.push_front(r);
  r.queued = true;
}

bool parking_lot::leave(park_record& r) noexcept {
  bucket& b = bucket_for(r.key);
  std::lock_guard lock(b.mutex);
  if (!r.queued) return true;
  b.records.erase(r);
  r.queued = false;
  return false;
}

void parking_lot::unpark_all(const void* key) noexcept {
  bucket& b = bucket_for(key);
  std::lock_guard lock(b.mutex);
  park_record* r = b.records.front();
  while (r != nullptr) {
    park_record* next = r->next;
    if (r->key == key) {
      b.records.erase(*r);
      r->queued = false;
      r->wake(r);
    }
    r = next;
  }
}

void wake_completion_waiters(const completion_word* word) noexcept {
  parking_lot::unpark_all(word);
}

}  // namespace cohort::detail
