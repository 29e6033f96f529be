// SPDX-License-Identifier: Apache-2.0
#include "timer.hpp"

#include <pthread.h>

namespace cohort::detail {

timer_service::timer_service() : thread_([this] { main(); }) {}

timer_service::~timer_service() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

std::uint64_t timer_service::schedule(clock::time_point when, callback fn, void* arg) {
  std::uint64_t id;
  bool earliest;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    auto it = queue_.emplace(std::pair{when, id}, entry{fn, arg}).first;
    when_.emplace(id, when);
    earliest = it == queue_.begin();
  }
  if (earliest) changed_.notify_one();
  return id;
}

void timer_service::cancel(std::uint64_t id) noexcept {
  std::unique_lock lock(mutex_);
  if (auto w = when_.find(id); w != when_.end()) {
    queue_.erase({w->second, id});
    when_.erase(w);
  }
  finished_.wait(lock, [&] { return running_ != id; });
}

void timer_service::main() {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "cohort-timer");
#endif
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (queue_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    // A copy: wait_until reads the deadline again after waking, and cancel() may have
    // erased the node it lives in meanwhile.
    const clock::time_point when = first->first.first;
    if (clock::now() < when) {
      changed_.wait_until(lock, when);
      continue;
    }
    const std::uint64_t id = first->first.second;
    const entry e = first->second;
    queue_.erase(first);
    when_.erase(id);
    running_ = id;
    lock.unlock();
    e.fn(e.arg);
    lock.lock();
    running_ = 0;
    finished_.notify_all();
  }
}

}  // namespace cohort::detail
