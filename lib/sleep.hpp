// The parking protocol: who sleeps, and whom a new job wakes.
//
// A worker is in one of three states: running a job, searching (idle, looking for work
// in a bounded spin), or sleeping (parked on its own futex word). Two counters, packed in
// one atomic so they move together, drive wake decisions:
//   - a new job wakes a sleeper only if nobody is searching (a searcher will find it) and
//     somebody sleeps; the waker moves the sleeper straight to "searching" so a burst of
//     jobs does not wake the whole pool (rayon's and tokio's rule);
//   - a worker that wants to sleep announces itself (counters RMW, seq_cst), then looks
//     for work once more, then sleeps on its word.
//
// Why nothing is lost (the Dekker argument, after Eigen's EventCount): for a job injected
// from outside the pool, the submitter publishes the job with a seq_cst store and
// reads the counters, both seq_cst; the sleeper's seq_cst RMW precedes its final seq_cst
// look. In the single total order, either the submitter's read comes after the RMW (it
// sees the sleeper and wakes it) or the sleeper's look comes after the publication (it
// sees the job).
//
// Jobs a worker pushes on its own deque skip the fence: a wake-up lost in that window
// costs parallelism, never progress, because a worker never sleeps while its own deque
// holds jobs it may run (it pops them first, also while waiting), so the job runs
// regardless. The exception is a worker waiting inside a task, which leaves the jobs
// below its task floor alone: before it sleeps it calls notify_stranded_jobs, with a
// fence, so a sleeper wakes to steal them.
//
// A worker waiting on a task (help-while-wait) sleeps the same way, but also parks a
// record in the parking lot keyed by the task, whose completer wakes it by index.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace cohort::detail {

class sleep_module {
 public:
  explicit sleep_module(std::size_t workers);

  // Called by a worker that found no work and starts spinning.
  void begin_search() noexcept { counters_.fetch_add(one_searching, std::memory_order_relaxed); }
  // Called by a searching worker that found work. If it was the last searcher, wakes
  // another sleeper in case more work is queued behind this one.
  void end_search() noexcept;

  // The sleeping side, for worker `i` (which is searching). Returns the word's generation
  // to sleep on. After this, the worker must look for work once more before sleeping.
  std::uint32_t announce_sleep(std::size_t i) noexcept;
  // Sleeps until woken (or timeout), unless already woken since announce_sleep.
  void sleep(std::size_t i, std::uint32_t generation, std::chrono::nanoseconds timeout) noexcept;
  // Leaves the sleeping state (woken or not); the worker is searching again.
  void after_sleep(std::size_t i) noexcept;

  // The waking side.
  // A job was pushed by a worker of this pool (no fence, see above).
  void notify_local_job() noexcept {
    const std::uint64_t c = counters_.load(std::memory_order_relaxed);
    if (sleeping(c) != 0 && searching(c) == 0) wake_any();
  }
  // A job was published from outside the pool (after its seq_cst publication).
  void notify_injected_job() noexcept;
  // A waiting worker holds jobs it may not run (below its task floor, worker.hpp): wake a
  // sleeper to steal them even if somebody is searching (the searcher may be that very
  // worker). seq_cst: pairs with sleepers' announcements like an injected job.
  void notify_stranded_jobs() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping(counters_.load(std::memory_order_seq_cst)) != 0) wake_any();
  }
  // Wakes worker i if it sleeps (a task it waits on completed, a deadline passed).
  void wake(std::size_t i) noexcept;
  void wake_all() noexcept;

  std::size_t sleeping_now() const noexcept {
    return sleeping(counters_.load(std::memory_order_relaxed));
  }

 private:
  static constexpr std::uint64_t one_sleeping = 1;
  static constexpr std::uint64_t one_searching = std::uint64_t{1} << 32;
  static std::size_t sleeping(std::uint64_t c) noexcept { return c & 0xffffffffu; }
  static std::size_t searching(std::uint64_t c) noexcept { return c >> 32; }

  enum : std::uint32_t { awake = 0, asleep = 1 };
  struct alignas(64) slot {
    std::atomic<std::uint32_t> state{awake};   // CAS asleep->awake claims the wake-up
    std::atomic<std::uint32_t> generation{0};  // the futex word; bumped by each wake
  };

  bool claim(std::size_t i) noexcept;
  void wake_any() noexcept;

  std::size_t n_;
  std::unique_ptr<slot[]> slots_;
  alignas(64) std::atomic<std::uint64_t> counters_{0};
  alignas(64) std::atomic<std::size_t> next_victim_{0};  // rotates who gets woken
};

}  // namespace cohort::detail
