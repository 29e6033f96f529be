#include "activity.hpp"

#include <algorithm>

namespace cohort::detail {

activity_frame worker_activity::load() const noexcept {
  activity_frame f;
  f.group = group_.load(std::memory_order_relaxed);
  f.task_key = task_key_.load(std::memory_order_relaxed);
  f.index = index_.load(std::memory_order_relaxed);
  f.kind = static_cast<job_kind>(kind_.load(std::memory_order_relaxed));
  f.running = running_.load(std::memory_order_relaxed);
  f.since_ns = since_ns_.load(std::memory_order_relaxed);
  return f;
}

void worker_activity::store(const activity_frame& f) noexcept {
  group_.store(f.group, std::memory_order_relaxed);
  task_key_.store(f.task_key, std::memory_order_relaxed);
  index_.store(f.index, std::memory_order_relaxed);
  kind_.store(static_cast<std::uint8_t>(f.kind), std::memory_order_relaxed);
  running_.store(f.running, std::memory_order_relaxed);
  since_ns_.store(f.since_ns, std::memory_order_relaxed);
}

void worker_activity::set_name(std::string_view name) noexcept {
  const std::size_t n = std::min(name.size(), name_capacity);
  for (std::size_t i = 0; i < n; ++i) name_[i].store(name[i], std::memory_order_relaxed);
  name_length_.store(static_cast<std::uint8_t>(n), std::memory_order_relaxed);
}

std::string worker_activity::name() const {
  std::string s(name_length_.load(std::memory_order_relaxed), '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = name_[i].load(std::memory_order_relaxed);
  return s;
}

}  // namespace cohort::detail
