// SPDX-License-Identifier: Apache-2.0
// Per-thread free lists of children's blocks, with a central depot that moves blocks
// between threads in batches.
//
// Why the depot: spawning is often lopsided. A thread outside the pool allocates every
// child, and the workers free them; without the depot the spawner's list never refills
// and every spawn falls through to operator new while the workers' lists overflow into
// operator delete. With it, a list that grows past its cap hands a batch to the depot
// and a list that runs dry takes one back: one lock per batch, not per block.
//
// How much the depot keeps: up to 64 MiB in all (10^6 children of the smallest class).
// A burst of a million live children is what a batch job does, and it usually repeats;
// with a depot of 4 MiB the second burst went back to operator new and delete for 94% of
// its blocks and took 1.5x as long (bench spawn1m, 10^6 spawns with handles kept). The
// memory stays with the process after the burst, as it would in glibc's or oneTBB's
// allocator caches; past the cap, blocks go back to operator delete.
#include <cohort/detail/block_pool.hpp>

#include <array>
#include <atomic>
#include <iterator>
#include <mutex>
#include <new>
#include <vector>

namespace cohort::detail {
namespace {

constexpr std::size_t classes = std::size(block_class_sizes);
constexpr const std::size_t (&class_sizes)[classes] = block_class_sizes;
constexpr std::size_t batch = 256;             // blocks moved to or from the depot at once
constexpr std::size_t max_cached = 2 * batch;  // per thread and class
constexpr std::size_t max_depot_bytes = std::size_t{64} << 20;

struct free_link {
  free_link* next;
};

// A chain of `batch` blocks.
struct chain {
  free_link* head = nullptr;
  free_link* tail = nullptr;
};

void delete_chain(free_link* head) noexcept {
  while (head != nullptr) {
    free_link* next = head->next;
    ::operator delete(static_cast<void*>(head));
    head = next;
  }
}

struct depot {
  std::mutex mutex;
  std::array<std::vector<free_link*>, classes> batches;  // heads of full chains; guarded
  std::size_t bytes = 0;                                 // held in all classes; guarded
  // batches[c].size(), for a look without the lock: a thread whose list ran dry while
  // every block is live (10^6 children with their handles kept) would otherwise lock an
  // empty depot on every spawn. Written under the lock; relaxed: a stale zero only sends
  // one allocation to operator new, a stale non-zero only costs the lock.
  std::array<std::atomic<std::size_t>, classes> chains_held{};

  bool looks_empty(std::size_t c) const noexcept {
    return chains_held[c].load(std::memory_order_relaxed) == 0;
  }

  // Room for as many chains as the cap allows in each class (about 100 KiB in all), taken
  // once: put() never allocates, so a spill never grows a vector and sends its old buffer
  // to operator delete (unsized, in a build without sized deallocation: clang's default).
  depot() {
    for (std::size_t c = 0; c < classes; ++c)
      batches[c].reserve(max_depot_bytes / (batch * class_sizes[c]));
  }

  bool put(std::size_t c, free_link* head) {
    const std::size_t chain_bytes = batch * class_sizes[c];
    std::lock_guard lock(mutex);
    if (bytes + chain_bytes > max_depot_bytes) return false;
    batches[c].push_back(head);
    chains_held[c].store(batches[c].size(), std::memory_order_relaxed);
    bytes += chain_bytes;
    return true;
  }
  // Empties the depot; the caller frees the chains outside the lock.
  std::vector<free_link*> take_all() {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& chains : batches) n += chains.size();
    std::vector<free_link*> all;
    all.reserve(n);  // may throw: then the depot is left as it was
    for (std::size_t c = 0; c < classes; ++c) {
      all.insert(all.end(), batches[c].begin(), batches[c].end());
      batches[c].clear();
      chains_held[c].store(0, std::memory_order_relaxed);
    }
    bytes = 0;
    return all;
  }
  free_link* take(std::size_t c) {
    std::lock_guard lock(mutex);
    if (batches[c].empty()) return nullptr;
    free_link* head = batches[c].back();
    batches[c].pop_back();
    chains_held[c].store(batches[c].size(), std::memory_order_relaxed);
    bytes -= batch * class_sizes[c];
    return head;
  }
};

depot& the_depot() {
  static depot* d = new depot();  // outlives every thread's cache at exit
  return *d;
}

// Owned by one thread; no synchronization needed. Trivially destructible and constant
// initialized, so the hot paths reach it with one thread-pointer-relative access: a
// thread_local with a destructor costs a guard check (and, in this function, register
// saves for the cold path) on every access, about 20 instructions per spawn+join. The
// cleanup at thread exit is a separate object (cache_owner), armed on the cold paths.
struct thread_cache {
  std::array<free_link*, classes> heads;
  std::array<std::size_t, classes> counts;

  void release() noexcept {
    for (std::size_t c = 0; c < classes; ++c) {
      delete_chain(heads[c]);
      heads[c] = nullptr;
      counts[c] = 0;
    }
  }

  // Moves `batch` blocks from the front of list c to the depot (or frees them).
  [[gnu::noinline]] void spill(std::size_t c) noexcept {
    free_link* head = heads[c];
    free_link* last = head;
    for (std::size_t i = 1; i < batch; ++i) last = last->next;
    heads[c] = last->next;
    last->next = nullptr;
    counts[c] -= batch;
    bool kept = false;
    try {
      kept = the_depot().put(c, head);
    } catch (...) {  // a failed lock or push: let operator delete have them
    }
    if (!kept) delete_chain(head);
  }

  [[gnu::noinline]] bool refill(std::size_t c) noexcept {
    free_link* head = nullptr;
    try {  // the depot's first use builds it, which may throw (out of memory)
      depot& d = the_depot();
      if (d.looks_empty(c)) return false;
      head = d.take(c);
    } catch (...) {
      return false;
    }
    if (head == nullptr) return false;
    heads[c] = head;
    counts[c] = batch;
    return true;
  }
};

constinit thread_local thread_cache cache{};
constinit thread_local bool cache_armed = false;

// Frees the thread's lists at its exit. Its first use registers that (a guard and a
// __cxa_thread_atexit call); every block enters a list through free_in_class or
// refill, and both arm it first, so a list is never left behind.
struct cache_owner {
  ~cache_owner() { cache.release(); }
};
thread_local cache_owner owner;

[[gnu::noinline]] void arm_cache_owner() noexcept {
  (void)&owner;  // odr-use: constructs it (registering its destructor) once per thread
  cache_armed = true;
}

[[gnu::noinline]] void* allocate_slow(std::size_t c) {
  if (!cache_armed) arm_cache_owner();
  if (cache.refill(c)) {
    free_link* head = cache.heads[c];
    cache.heads[c] = head->next;
    --cache.counts[c];
    return head;
  }
  return ::operator new(class_sizes[c]);
}

}  // namespace

void* allocate_in_class(int size_class_index) {
  const auto c = static_cast<std::size_t>(size_class_index);
  free_link* head = cache.heads[c];
  if (head == nullptr) [[unlikely]]
    return allocate_slow(c);
  free_link* const next = head->next;
  cache.heads[c] = next;
  --cache.counts[c];
  // The next allocation reads next->next. A block freed on another thread (a thief ran
  // the child and freed it: the depot brings those back in batches) is in that thread's
  // cache, so each allocation waited for one miss after the other; asking for the next
  // line now overlaps them. A prefetch of null does not fault.
  __builtin_prefetch(next, 1);
  return head;
}

void free_in_class(void* block, int size_class_index) noexcept {
  const auto c = static_cast<std::size_t>(size_class_index);
  if (!cache_armed) [[unlikely]]
    arm_cache_owner();
  cache.heads[c] = ::new (block) free_link{cache.heads[c]};
  if (++cache.counts[c] > max_cached) [[unlikely]]
    cache.spill(c);
}

void release_cached_blocks() noexcept {
  cache.release();
  try {
    for (free_link* head : the_depot().take_all()) delete_chain(head);
  } catch (...) {  // the list of chains could not be built: keep them for reuse
  }
}

}  // namespace cohort::detail
