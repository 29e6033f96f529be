// SPDX-License-Identifier: Apache-2.0
// What a worker is doing right now, for dump() and the watchdog.
//
// A worker runs jobs nested inside each other (a task that waits runs other jobs), so
// the record is a stack: entering a job writes one slot and the depth, leaving writes the
// depth only. Only plain values are recorded (a group's address to match against the
// live-group list, a task's spawn index, a copy of its name, parking-lot keys), never a
// pointer dump() would dereference: the task may end and be freed while dump() reads.
// Written by the worker alone with relaxed stores, read by dump() with relaxed loads: a
// snapshot that may be torn across fields, acceptable for a diagnostic. Names are copied
// only for named tasks, so the unnamed fast path pays a few stores.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <cohort/detail/job.hpp>

namespace cohort::detail {

struct activity_frame {
  const void* group = nullptr;     // the group of the running child (address only)
  const void* task_key = nullptr;  // the running child's completion word (address only)
  std::uint32_t index = 0;
  job_kind kind = job_kind::child;
  bool running = false;
  std::int64_t since_ns = 0;  // 0 when timing is off
  // What this job waits on inside itself (a join, get, wait), if it does: then the frame
  // above it on the stack runs inside that wait.
  const void* waiting_on = nullptr;
  std::size_t waiting_keys = 1;
  std::int64_t waiting_since_ns = 0;
  std::string name;  // filled by load_stack()
};

class worker_activity {
 public:
  static constexpr std::size_t name_capacity = 47;
  static constexpr std::size_t max_depth = 16;  // deeper jobs count, but are not recorded

  // Entering a job: the worker records it on top of the stack. Inline: every job's run
  // does it. Relaxed stores: the readers take a snapshot (see set_waiting).
  void enter(const void* group, const void* task_key, std::uint32_t index, job_kind kind,
             std::int64_t since_ns, std::string_view name) noexcept {
    const std::uint32_t d = depth_.load(std::memory_order_relaxed);
    if (d < max_depth) {
      slot& s = stack_[d];
      s.group.store(group, std::memory_order_relaxed);
      s.task_key.store(task_key, std::memory_order_relaxed);
      s.packed.store(std::uint64_t{index} | (std::uint64_t{static_cast<std::uint8_t>(kind)} << 32),
                     std::memory_order_relaxed);
      s.since_ns.store(since_ns, std::memory_order_relaxed);
      const std::size_t n = std::min(name.size(), name_capacity);
      for (std::size_t i = 0; i < n; ++i) s.name[i].store(name[i], std::memory_order_relaxed);
      s.name_length.store(static_cast<std::uint8_t>(n), std::memory_order_relaxed);
      s.waiting_on.store(nullptr, std::memory_order_relaxed);
    }
    depth_.store(d + 1, std::memory_order_relaxed);
  }
  void leave() noexcept {
    depth_.store(depth_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }

  // The innermost job (running == false when idle), and its name.
  activity_frame load() const noexcept;
  std::string name() const;
  // Every job on the worker's stack, outermost first (a job that waits runs the next one
  // inside its wait). Jobs deeper than max_depth are counted in `hidden`.
  std::vector<activity_frame> load_stack(std::size_t& hidden) const;
  // The innermost job starts or stops waiting (the outer job's record keeps its own).
  // Inline: every join does it twice. Relaxed, as every field here: dump() and the
  // watchdog read a snapshot, and a torn one only misdescribes one poll.
  void set_waiting(const void* key, std::size_t keys, std::int64_t since_ns) noexcept {
    const std::uint32_t d = depth_.load(std::memory_order_relaxed);
    if (d == 0 || d > max_depth) return;
    slot& s = stack_[d - 1];
    s.waiting_keys.store(keys, std::memory_order_relaxed);
    s.waiting_since_ns.store(since_ns, std::memory_order_relaxed);
    s.waiting_on.store(key, std::memory_order_relaxed);
  }
  void clear_waiting() noexcept { set_waiting(nullptr, 1, 0); }

  // Whether a job on the worker's stack waits (join, get, wait): the watchdog's question.
  bool waits() const noexcept;
  // Whether the worker is inside a job (the silent-block guard's question).
  bool busy() const noexcept { return depth_.load(std::memory_order_relaxed) != 0; }
  std::atomic<bool> parked{false};

 private:
  struct slot {
    std::atomic<const void*> group{nullptr};
    std::atomic<const void*> task_key{nullptr};
    std::atomic<std::uint64_t> packed{0};  // index (bits 0-31) | kind (bits 32-39)
    std::atomic<std::int64_t> since_ns{0};
    std::atomic<std::uint8_t> name_length{0};
    std::array<std::atomic<char>, name_capacity> name{};
    std::atomic<const void*> waiting_on{nullptr};
    std::atomic<std::size_t> waiting_keys{1};
    std::atomic<std::int64_t> waiting_since_ns{0};
  };
  activity_frame read(const slot& s) const noexcept;
  std::atomic<std::uint32_t> depth_{0};
  std::array<slot, max_depth> stack_{};
};

// Nanoseconds on the steady clock, for ages.
inline std::int64_t steady_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace cohort::detail
