#include <cohort/detail/block_pool.hpp>

#include <array>
#include <new>

namespace cohort::detail {
namespace {

constexpr std::array<std::size_t, 7> class_sizes{64, 96, 128, 192, 256, 384, 512};
constexpr std::size_t max_cached_per_class = 4096;

int size_class(std::size_t bytes) noexcept {
  for (std::size_t i = 0; i < class_sizes.size(); ++i)
    if (bytes <= class_sizes[i]) return static_cast<int>(i);
  return -1;
}

struct free_block_link {
  free_block_link* next;
};

// Owned by one thread; no synchronization needed.
struct thread_cache {
  std::array<free_block_link*, class_sizes.size()> heads{};
  std::array<std::size_t, class_sizes.size()> counts{};

  ~thread_cache() {
    for (auto* head : heads) {
      while (head != nullptr) {
        free_block_link* next = head->next;
        ::operator delete(static_cast<void*>(head));
        head = next;
      }
    }
  }
};

thread_local thread_cache cache;

}  // namespace

void* allocate_block(std::size_t bytes) {
  const int c = size_class(bytes);
  if (c < 0) return ::operator new(bytes);
  const auto i = static_cast<std::size_t>(c);
  if (free_block_link* head = cache.heads[i]) {
    cache.heads[i] = head->next;
    --cache.counts[i];
    return head;
  }
  return ::operator new(class_sizes[i]);
}

void free_block(void* block, std::size_t bytes) noexcept {
  const int c = size_class(bytes);
  if (c < 0 || cache.counts[static_cast<std::size_t>(c)] >= max_cached_per_class) {
    ::operator delete(block);
    return;
  }
  const auto i = static_cast<std::size_t>(c);
  auto* link = ::new (block) free_block_link{cache.heads[i]};
  cache.heads[i] = link;
  ++cache.counts[i];
}

}  // namespace cohort::detail
