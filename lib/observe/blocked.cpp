// SPDX-License-Identifier: Apache-2.0
#include "observe/blocked.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "observe/activity.hpp"

namespace cohort::detail {
namespace {

struct registry {
  std::mutex mutex;
  std::vector<blocked_thread> entries;  // guarded by mutex; a null key marks a free slot
  std::atomic<std::size_t> count{0};
};

registry& the_registry() {
  static registry* r = new registry();  // outlives every thread that may still wait at exit
  return *r;
}

}  // namespace

blocked_scope::blocked_scope(const void* key, std::size_t keys) noexcept {
  // Out of memory here costs the dump a line, never the wait: a wait that cannot be
  // listed still waits (and nothing of it is linked anywhere yet).
  try {
    blocked_thread b;
#if defined(__linux__)
    b.tid = static_cast<long>(::syscall(SYS_gettid));
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    b.thread_name = name;
    if (b.tid == static_cast<long>(::getpid())) b.thread_name += " (main thread)";
#endif
    b.key = key;
    b.keys = keys;
    b.since_ns = steady_now_ns();
    auto& r = the_registry();
    std::lock_guard lock(r.mutex);
    std::size_t slot = 0;
    for (; slot < r.entries.size(); ++slot)
      if (r.entries[slot].key == nullptr) break;
    if (slot == r.entries.size()) r.entries.emplace_back();
    r.entries[slot] = std::move(b);
    slot_ = slot;
    r.count.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
    slot_ = unlisted;
  }
}

blocked_scope::~blocked_scope() {
  if (slot_ == unlisted) return;
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  r.entries[slot_] = blocked_thread{};
  r.count.fetch_sub(1, std::memory_order_relaxed);
}

std::vector<blocked_thread> blocked_threads() {
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  std::vector<blocked_thread> out;
  for (const auto& b : r.entries)
    if (b.key != nullptr) out.push_back(b);
  return out;
}

std::size_t blocked_thread_count() noexcept {
  return the_registry().count.load(std::memory_order_relaxed);
}

}  // namespace cohort::detail
