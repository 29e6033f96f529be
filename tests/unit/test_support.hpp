// SPDX-License-Identifier: Apache-2.0
// Helpers shared by cohort's tests: sizes that shrink under ThreadSanitizer, bounded
// waits (a test fails with a message instead of hanging), and /proc readers for thread
// names and per-thread CPU time.
#pragma once

// clang 14 cannot compile libstdc++ 12's std::views (its view_interface fails to
// instantiate: std::views::iota, istream, ...), with or without cohort. Tests that use
// std::views skip or use a container there (README: Supported compilers).
#if defined(__clang__) && __clang_major__ < 15 && defined(__GLIBCXX__)
#define COHORT_TEST_NO_STD_VIEWS 1
#endif

#include <dirent.h>
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <cohort/detail/runtime.hpp>
#include <cohort/errors.hpp>
#include <cohort/scheduler.hpp>

namespace cohort_test {

// Schedulers built while it lives have no silent-block guard (lib/silent_block.hpp): for
// tests of a shape that must end without it, which the guard would otherwise end late
// and so hide a regression. Construct it before the scheduler, on the test's thread.
class silent_block_guard_off {
 public:
  silent_block_guard_off() {
    if (const char* v = std::getenv("COHORT_SILENT_BLOCK_GUARD")) {
      had_ = true;
      old_ = v;
    }
    ::setenv("COHORT_SILENT_BLOCK_GUARD", "0", 1);
  }
  ~silent_block_guard_off() {
    if (had_)
      ::setenv("COHORT_SILENT_BLOCK_GUARD", old_.c_str(), 1);
    else
      ::unsetenv("COHORT_SILENT_BLOCK_GUARD");
  }
  silent_block_guard_off(const silent_block_guard_off&) = delete;
  silent_block_guard_off& operator=(const silent_block_guard_off&) = delete;

 private:
  bool had_ = false;
  std::string old_;
};

#if defined(__SANITIZE_THREAD__)
inline constexpr bool under_tsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool under_tsan = true;
#else
inline constexpr bool under_tsan = false;
#endif
#else
inline constexpr bool under_tsan = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool under_asan = true;
#else
inline constexpr bool under_asan = false;
#endif

// COHORT_TEST_SCALE=<float> in the environment multiplies every scaled size.
inline double env_scale() {
  if (const char* s = std::getenv("COHORT_TEST_SCALE")) {
    const double v = std::atof(s);
    if (v > 0) return v;
  }
  return 1.0;
}

// `normal` in a plain build, `tsan` under ThreadSanitizer (which runs 5-15x slower and
// keeps shadow state per access); both multiplied by COHORT_TEST_SCALE, at least 1.
inline std::size_t scaled(std::size_t normal, std::size_t tsan) {
  const double base = static_cast<double>(under_tsan ? tsan : normal);
  const double v = base * env_scale();
  return v < 1.0 ? 1 : static_cast<std::size_t>(v);
}

// How long a bounded wait gives something that should happen "soon" before the test
// declares it will never happen.
inline std::chrono::milliseconds patience() {
  return std::chrono::milliseconds(under_tsan ? 60'000 : 20'000);
}

// Spins (yielding) until pred() holds or `limit` passes; returns pred().
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = patience()) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

// Like eventually(), but sleeps in small steps instead of yielding: keeps a 2-core
// machine usable while several callables poll at once.
template <class Pred>
bool poll_until(Pred pred, std::chrono::milliseconds limit = patience()) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// An exception type of the tests' own, to tell their failures from anything else.
struct boom : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "<prefix><n>" (built with append: GCC 12 warns, wrongly, on `"lit" + std::to_string(n)`
// at -O2 and above, -Wrestrict).
inline std::string label(std::string prefix, long n) {
  prefix.append(std::to_string(n));
  return prefix;
}

// The calling thread's name (pthread_getname_np).
inline std::string thread_name() {
  char buf[32] = {};
  pthread_getname_np(pthread_self(), buf, sizeof buf);
  return buf;
}

// True when `name` is "<prefix>-<i>" for some i < workers.
inline bool is_worker_of(const std::string& name, const std::string& prefix, std::size_t workers) {
  for (std::size_t i = 0; i < workers; ++i)
    if (name == label(prefix + "-", static_cast<long>(i))) return true;
  return false;
}

// Whether the calling code runs on `s`'s pool: on one of its workers, or on a thread
// outside the pool that runs a job of it in its slot (a joiner runs its own children).
// The thread name tells only the first.
inline bool runs_on(cohort::scheduler& s) {
  return cohort::detail::on_pool(cohort::detail::pool_of(s));
}

// Waits (bounded) until the token is requested; false if it never was.
// what() of a task's exception, or a description of anything else it threw.
inline std::string what_of(const std::exception_ptr& e) {
  return cohort::describe_exception(e);
}

inline bool wait_for_stop(const std::stop_token& st, std::chrono::milliseconds limit = patience()) {
  return eventually([&] { return st.stop_requested(); }, limit);
}

inline void atomic_max(std::atomic<int>& m, int v) {
  int cur = m.load(std::memory_order_relaxed);
  while (cur < v && !m.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

struct thread_info {
  std::string tid;
  std::string comm;
  std::uint64_t cpu_ns = 0;  // schedstat: time spent on a CPU
};

// Every thread of this process with its name and CPU time so far.
inline std::vector<thread_info> list_threads() {
  std::vector<thread_info> out;
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    const std::string tid = e->d_name;
    if (tid == "." || tid == "..") continue;
    thread_info t;
    t.tid = tid;
    {
      std::ifstream f("/proc/self/task/" + tid + "/comm");
      std::getline(f, t.comm);
    }
    {
      std::ifstream f("/proc/self/task/" + tid + "/schedstat");
      f >> t.cpu_ns;
    }
    out.push_back(std::move(t));
  }
  ::closedir(d);
  return out;
}

}  // namespace cohort_test

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>

namespace cohort_test {

// A one-shot flag a test opens and children wait on, with bounded waits: a forgotten gate
// fails the test instead of hanging it. Everything done before open() happens before a
// wait that sees the gate open returns (release/acquire).
class gate {
 public:
  void open() noexcept { open_.store(true, std::memory_order_release); }
  bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }
  // Yields until open (a start gate: its waiters leave close together); false if it never
  // opened in time, which the caller reports as a failure.
  bool wait(std::chrono::milliseconds limit = patience()) const {
    return eventually([&] { return is_open(); }, limit);
  }
  // Sleeps in small steps until open (keeps a 2-core machine usable while several tasks
  // hold on gates); a gate never opened fails the calling test, then lets it go on.
  void pass(std::chrono::milliseconds limit = patience()) const {
    if (!poll_until([&] { return is_open(); }, limit)) ADD_FAILURE() << "a gate never opened";
  }

 private:
  std::atomic<bool> open_{false};
};

// Runs f() on this thread; if it has not returned within `limit`, prints `what` (and
// what describe() says, e.g. a scheduler dump) and aborts, so a deadlock fails the test
// with a message instead of running into the CTest timeout.
template <class F>
void with_watchdog(const char* what, F&& f, std::chrono::milliseconds limit = patience(),
                   std::function<std::string()> describe = {}) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread dog([&] {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, limit, [&] { return done; })) {
      std::fprintf(stderr, "WATCHDOG: '%s' did not finish within %lld ms: deadlock?\n%s\n", what,
                   static_cast<long long>(limit.count()), describe ? describe().c_str() : "");
      std::fflush(stderr);
      std::abort();
    }
  });
  struct finish {
    std::mutex& m;
    std::condition_variable& cv;
    bool& done;
    std::thread& dog;
    ~finish() {
      {
        std::lock_guard lock(m);
        done = true;
      }
      cv.notify_all();
      dog.join();
    }
  } finisher{m, cv, done, dog};
  f();
}

}  // namespace cohort_test

namespace cohort_test {

// How long a regression scenario that should take milliseconds gets before the test calls
// it a hang (regression_*_test.cpp): 5 s in a plain build, more under the sanitizers.
inline std::chrono::milliseconds hang_limit() {
  if (under_tsan) return std::chrono::milliseconds(30'000);
  if (under_asan) return std::chrono::milliseconds(15'000);
  return std::chrono::milliseconds(5'000);
}

// Waits (bounded) until every task given has ended, without joining anything. A join from
// a thread outside the pool runs that group's children still queued on the thread's own
// deque (lib/outside_slots.hpp); a test whose scenario needs its tasks on the pool's
// workers (one worker: nothing else runs) waits here before it joins.
template <class... Tasks>
bool ended(const Tasks&... tasks) {
  auto over = [](cohort::task_status st) {
    return st != cohort::task_status::pending && st != cohort::task_status::running;
  };
  return poll_until([&] { return (over(tasks.status()) && ...); }, 2 * hang_limit());
}

// CPU time the calling thread has used so far.
inline std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace cohort_test
