// Storage for task_group children without a trip to the global allocator per task.
//
// Each thread keeps a bounded free list per size class. A block freed on another thread
// than the one that allocated it goes to the freeing thread's list (memory migrates, the
// lists are capped, the surplus goes back to operator delete). Blocks larger than the
// biggest class or over-aligned go straight to operator new.
#pragma once

#include <cstddef>

namespace cohort::detail {

inline constexpr std::size_t block_alignment = alignof(std::max_align_t);

void* allocate_block(std::size_t bytes);
void free_block(void* block, std::size_t bytes) noexcept;

}  // namespace cohort::detail
