// SPDX-License-Identifier: Apache-2.0
// The block pool (lib/block_pool.cpp) on its own: a freed block is reused by the next
// allocation of its class without a trip to operator new; a thread's list is capped and
// its surplus moves, through the depot, to a thread that runs dry; the depot itself is
// capped (64 MiB), past which blocks go back to operator delete; and
// release_cached_blocks() frees what the calling thread and the depot hold.
//
// This file replaces the global operator new and delete (so it is its own test program)
// to count, on the calling thread only, the allocations the pool sends to them.
#include <cohort/detail/block_pool.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

namespace {
// Counts, on this thread while `counting` is set, operator new calls of a class's size
// and unsized operator delete calls: what the pool sends to the heap.
thread_local bool counting = false;
thread_local std::size_t news = 0;
thread_local std::size_t deletes = 0;

bool is_a_class_size(std::size_t n) {
  for (std::size_t size : cohort::detail::block_class_sizes)
    if (n == size) return true;
  return false;
}
}  // namespace

void* operator new(std::size_t n) {
  if (counting && is_a_class_size(n)) ++news;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
// The pool frees blocks with the unsized form; containers (the depot's own vectors) use
// the sized one, which is not counted.
void operator delete(void* p) noexcept {
  if (counting && p != nullptr) ++deletes;
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using cohort::detail::allocate_in_class;
using cohort::detail::block_alignment;
using cohort::detail::block_class_of;
using cohort::detail::block_class_sizes;
using cohort::detail::free_in_class;
using cohort::detail::release_cached_blocks;

// Counts the operator new / delete calls of this thread while alive.
class count_heap_calls {
 public:
  count_heap_calls() {
    news = deletes = 0;
    counting = true;
  }
  ~count_heap_calls() { counting = false; }
  count_heap_calls(const count_heap_calls&) = delete;
  count_heap_calls& operator=(const count_heap_calls&) = delete;
  std::size_t new_calls() const { return news; }
  std::size_t delete_calls() const { return deletes; }
};

constexpr int smallest = 0;
constexpr int largest = static_cast<int>(std::size(block_class_sizes)) - 1;

std::vector<void*> allocate_n(int size_class, std::size_t n) {
  std::vector<void*> blocks;
  blocks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) blocks.push_back(allocate_in_class(size_class));
  return blocks;
}
void free_all(const std::vector<void*>& blocks, int size_class) {
  for (void* b : blocks) free_in_class(b, size_class);
}

TEST(block_pool, size_classes_are_picked_at_compile_time) {
  static_assert(block_class_of<1> == 0);
  static_assert(block_class_of<64> == 0);
  static_assert(block_class_of<65> == 1);
  static_assert(block_class_of<512> == largest);
  static_assert(block_class_of<513> == -1, "too big for a class: operator new");
  SUCCEED();
}

TEST(block_pool, blocks_are_aligned_and_usable_to_their_class_size) {
  release_cached_blocks();
  for (int c = smallest; c <= largest; ++c) {
    std::vector<void*> blocks = allocate_n(c, 8);
    for (void* b : blocks) {
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % block_alignment, 0u) << "class " << c;
      std::memset(b, 0xab, block_class_sizes[c]);  // ASan: the whole class size is ours
    }
    free_all(blocks, c);
  }
}

TEST(block_pool, a_freed_block_is_reused_without_operator_new) {
  release_cached_blocks();
  void* first = allocate_in_class(smallest);
  free_in_class(first, smallest);
  count_heap_calls heap;
  void* again = allocate_in_class(smallest);
  EXPECT_EQ(again, first) << "the thread's free list did not hand back the freed block";
  EXPECT_EQ(heap.new_calls(), 0u);
  free_in_class(again, smallest);
}

TEST(block_pool, classes_do_not_share_blocks) {
  release_cached_blocks();
  void* small = allocate_in_class(smallest);
  free_in_class(small, smallest);
  void* big = allocate_in_class(largest);
  EXPECT_NE(big, small) << "a 64-byte block came back for a 512-byte request";
  free_in_class(big, largest);
}

TEST(block_pool, release_cached_blocks_gives_the_threads_blocks_back_to_operator_delete) {
  release_cached_blocks();
  const std::vector<void*> blocks = allocate_n(smallest, 100);
  free_all(blocks, smallest);
  {
    count_heap_calls heap;
    release_cached_blocks();
    EXPECT_EQ(heap.delete_calls(), 100u);
  }
  count_heap_calls heap;
  void* fresh = allocate_in_class(smallest);
  EXPECT_EQ(heap.new_calls(), 1u) << "a block survived release_cached_blocks()";
  free_in_class(fresh, smallest);
  release_cached_blocks();
}

// A thread that frees far more than it allocates (the workers, when another thread
// spawns) keeps a bounded list and hands the surplus to the depot in batches, where a
// thread that allocates more than it frees finds it.
TEST(block_pool, a_threads_surplus_reaches_another_thread_through_the_depot) {
  release_cached_blocks();
  constexpr std::size_t n = 4096;
  std::vector<void*> blocks = allocate_n(smallest, n);
  std::thread freer([&] {
    count_heap_calls heap;
    free_all(blocks, smallest);
    // Capped: the freeing thread kept at most a few batches and sent no block to
    // operator delete (the depot had room).
    EXPECT_EQ(heap.delete_calls(), 0u);
  });
  freer.join();  // its own list dies with it; the depot keeps the surplus
  count_heap_calls heap;
  std::vector<void*> again = allocate_n(smallest, 1024);
  EXPECT_EQ(heap.new_calls(), 0u) << "the depot did not pass the freed blocks on";
  free_all(again, smallest);
  release_cached_blocks();
}

TEST(block_pool, the_depot_is_capped_and_the_surplus_goes_to_operator_delete) {
  release_cached_blocks();
  // The depot keeps up to 64 MiB; free more than that of the largest class.
  const std::size_t cap_blocks = (std::size_t{64} << 20) / block_class_sizes[largest];
  const std::size_t n = cap_blocks + 8192;
  std::vector<void*> blocks = allocate_n(largest, n);
  {
    count_heap_calls heap;
    free_all(blocks, largest);
    EXPECT_GE(heap.delete_calls(), n - cap_blocks - 1024) << "the depot kept more than its cap";
    EXPECT_LT(heap.delete_calls(), n) << "the depot kept nothing";
  }
  release_cached_blocks();
}

}  // namespace
