// SPDX-License-Identifier: Apache-2.0
#include "observe/activity.hpp"

#include <algorithm>

namespace cohort::detail {

bool worker_activity::waits() const noexcept {
  const std::uint32_t d = std::min<std::uint32_t>(depth_.load(std::memory_order_relaxed),
                                                  static_cast<std::uint32_t>(max_depth));
  for (std::uint32_t i = 0; i < d; ++i)
    if (stack_[i].waiting_on.load(std::memory_order_relaxed) != nullptr) return true;
  return false;
}

activity_frame worker_activity::read(const slot& s) const noexcept {
  activity_frame f;
  f.running = true;
  f.group = s.group.load(std::memory_order_relaxed);
  f.task_key = s.task_key.load(std::memory_order_relaxed);
  const std::uint64_t packed = s.packed.load(std::memory_order_relaxed);
  f.index = static_cast<std::uint32_t>(packed);
  f.kind = static_cast<job_kind>((packed >> 32) & 0xff);
  f.since_ns = s.since_ns.load(std::memory_order_relaxed);
  f.waiting_on = s.waiting_on.load(std::memory_order_relaxed);
  f.waiting_keys = s.waiting_keys.load(std::memory_order_relaxed);
  f.waiting_since_ns = s.waiting_since_ns.load(std::memory_order_relaxed);
  return f;
}

std::vector<activity_frame> worker_activity::load_stack(std::size_t& hidden) const {
  const std::uint32_t d = depth_.load(std::memory_order_relaxed);
  const std::size_t shown = std::min<std::size_t>(d, max_depth);
  hidden = d - shown;
  std::vector<activity_frame> out;
  for (std::size_t i = 0; i < shown; ++i) {
    activity_frame f = read(stack_[i]);
    const std::size_t n =
        std::min<std::size_t>(stack_[i].name_length.load(std::memory_order_relaxed), name_capacity);
    f.name.resize(n);
    for (std::size_t k = 0; k < n; ++k)
      f.name[k] = stack_[i].name[k].load(std::memory_order_relaxed);
    out.push_back(std::move(f));
  }
  return out;
}

activity_frame worker_activity::load() const noexcept {
  const std::uint32_t d = depth_.load(std::memory_order_relaxed);
  if (d == 0) return {};
  return read(stack_[std::min<std::size_t>(d, max_depth) - 1]);
}

std::string worker_activity::name() const {
  const std::uint32_t d = depth_.load(std::memory_order_relaxed);
  if (d == 0) return {};
  const slot& s = stack_[std::min<std::size_t>(d, max_depth) - 1];
  std::string out(s.name_length.load(std::memory_order_relaxed), '\0');
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = s.name[i].load(std::memory_order_relaxed);
  return out;
}

}  // namespace cohort::detail
