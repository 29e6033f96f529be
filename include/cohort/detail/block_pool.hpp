// Storage for task_group children without a trip to the global allocator per task.
//
// Each thread keeps a bounded free list per size class. A block freed on another thread
// than the one that allocated it goes to the freeing thread's list (memory migrates, the
// lists are capped, the surplus goes to a central depot in batches). Blocks larger than
// the biggest class go straight to operator new; over-aligned ones never come here
// (child.hpp uses aligned operator new for them).
#pragma once

#include <cstddef>

namespace cohort::detail {

inline constexpr std::size_t block_alignment = alignof(std::max_align_t);

void* allocate_block(std::size_t bytes);
void free_block(void* block, std::size_t bytes) noexcept;

}  // namespace cohort::detail
