// SPDX-License-Identifier: Apache-2.0
// Storage for task_group children without a trip to the global allocator per task.
//
// Each thread keeps a bounded free list per size class. A block freed on another thread
// than the one that allocated it goes to the freeing thread's list (memory migrates, the
// lists are capped, the surplus goes to a central depot in batches). Blocks larger than
// the biggest class go straight to operator new; over-aligned ones never come here
// (child.hpp uses aligned operator new for them).
#pragma once

#include <cohort/export.hpp>

#include <cstddef>
#include <new>

namespace cohort::detail {

inline constexpr std::size_t block_alignment = alignof(std::max_align_t);

// The size class is worked out at compile time; bigger blocks go to operator new.
inline constexpr std::size_t block_class_sizes[] = {64, 96, 128, 192, 256, 384, 512};
template <std::size_t Bytes>
inline constexpr int block_class_of = [] {
  for (int i = 0; i < 7; ++i)
    if (Bytes <= block_class_sizes[i]) return i;
  return -1;
}();
COHORT_EXPORT void* allocate_in_class(int size_class);
COHORT_EXPORT void free_in_class(void* block, int size_class) noexcept;
// Frees the depot and the calling thread's lists (cohort::release_cached_memory).
COHORT_EXPORT void release_cached_blocks() noexcept;

template <std::size_t Bytes>
void* allocate_block_of() {
  if constexpr (block_class_of<Bytes> < 0)
    return ::operator new(Bytes);
  else
    return allocate_in_class(block_class_of<Bytes>);
}
template <std::size_t Bytes>
void free_block_of(void* block) noexcept {
  if constexpr (block_class_of<Bytes> < 0)
    ::operator delete(block);
  else
    free_in_class(block, block_class_of<Bytes>);
}

}  // namespace cohort::detail
