// SPDX-License-Identifier: Apache-2.0
// Run-time tracing: task begin/end, steals and parks per worker, written as Chrome
// trace-event JSON (opens in Perfetto or chrome://tracing).
//
// Off, it costs one relaxed load and a predictable branch per executed job. On, each
// worker appends to its own buffer under its own mutex (uncontended but for write()).
// Tasks that a worker runs inline inside a gather appear inside their parent's span.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cohort::detail {

struct job;

class tracer {
 public:
  // `workers` lanes for the pool's threads, then `outside` for the slots of threads
  // outside the pool (outside_slots.hpp), named "<scheduler>-outside-<k>".
  explicit tracer(std::size_t workers, std::size_t outside = 0);

  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  void start() noexcept { enabled_.store(true, std::memory_order_relaxed); }
  void stop() noexcept { enabled_.store(false, std::memory_order_relaxed); }

  // Never throw: out of memory drops the event, never the job (false: not begun, so the
  // caller must not end it).
  bool begin(std::size_t worker, const job* j) noexcept;
  bool begin(std::size_t worker, const char* name) noexcept;
  void end(std::size_t worker) noexcept;
  void instant(std::size_t worker, const char* what, std::size_t arg) noexcept;

  // Every event so far; spans still open are closed at the time of writing, so each
  // worker's begin/end events balance.
  bool write(const std::string& path, const std::string& scheduler_name) const;
  std::size_t event_count() const;

 private:
  struct event {
    std::int64_t ts_ns;
    char phase;  // 'B', 'E', 'i'
    std::string name;
    std::string group;
  };
  struct alignas(64) buffer {
    mutable std::mutex mutex;
    std::vector<event> events;  // guarded by mutex
    int depth = 0;              // open spans, guarded by mutex
  };

  std::atomic<bool> enabled_{false};
  std::size_t workers_;
  std::size_t lanes_;  // workers_ + outside lanes
  std::unique_ptr<buffer[]> buffers_;
  std::int64_t origin_ns_;
};

}  // namespace cohort::detail
