// SPDX-License-Identifier: Apache-2.0
// Blocking calls and child processes.
//
// blocking(f): runs f, which may block outside cohort (I/O, a lock, a child process, a
// condition variable). On a worker, a spare thread takes the worker's place in the pool
// for as long as f blocks, so the pool keeps its parallelism and no job queued behind the
// caller is stranded (Java's ForkJoinPool.managedBlock). Elsewhere it just calls f.
//
// run_process(argv) / run_shell(command): run a child in a new process group and wait for
// it inside blocking().
//   Requirements: POSIX (Linux uses pidfds when the kernel has them: no PID-reuse race).
//   Guarantees: output pipes are drained while the child runs, so any output size works;
//     the calling task's stop request (its cancel, a sibling's failure, a deadline) or the
//     timeout kills the whole process group (SIGTERM, then SIGKILL after term_grace), and
//     the call throws task_cancelled / timeout_error only after the child was reaped.
//     When the child itself ends, whatever it left running in its process group is killed
//     (SIGKILL) before the call returns: no process or zombie is ever left behind.
//     A program that cannot be started: std::system_error (errc::no_such_file_or_directory
//     when argv[0] is not found).
//   Example:
//     auto r = cohort::run_process({"git", "rev-parse", "HEAD"}, {.timeout = 5s});
//     if (r.ok()) use(r.out);
// Thread safety: every function may be called from any thread, concurrently.
#pragma once

#include <cohort/export.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <cohort/detail/runtime.hpp>

namespace cohort {

namespace detail {
// Pairs begin_blocking/end_blocking on every way out of a scope.
class COHORT_EXPORT blocking_guard {
 public:
  blocking_guard() noexcept : token_(begin_blocking()) {}
  ~blocking_guard() { end_blocking(token_); }
  blocking_guard(const blocking_guard&) = delete;
  blocking_guard& operator=(const blocking_guard&) = delete;

 private:
  void* token_;
};
}  // namespace detail

template <class F>
decltype(auto) blocking(F&& f) {
  detail::blocking_guard guard;
  return std::invoke(std::forward<F>(f));
}

struct process_options {
  std::string input;    // written to the child's stdin, then closed
  bool capture = true;  // false: the child inherits stdout and stderr
  std::optional<std::chrono::nanoseconds> timeout;
  std::chrono::nanoseconds term_grace = std::chrono::seconds(2);  // SIGTERM, then SIGKILL
  std::string working_directory;                                  // empty: the caller's
  std::vector<std::string> environment;  // extra NAME=VALUE entries (override inherited ones)

  // Extensions (for streaming consumers such as cohort-run):
  // When set (and capture is true), each chunk of output is passed here as it arrives,
  // from the waiting thread, instead of being kept in process_result::out / err.
  std::function<void(std::string_view chunk, bool from_stderr)> on_output;
  // Called once with the child's pid right after it started.
  std::function<void(int pid)> on_start;
};

struct process_result {
  int exit_code = -1;    // -1 when a signal ended it
  int signal = 0;        // that signal, else 0
  std::string out, err;  // when captured
  std::chrono::nanoseconds wall{}, user_cpu{}, system_cpu{};
  long max_rss_kb = 0;
  bool ok() const noexcept { return exit_code == 0; }
};

// Runs argv (argv[0] searched in PATH) in a new process group, waiting inside blocking().
COHORT_EXPORT process_result run_process(const std::vector<std::string>& argv,
                                         process_options options = {});
// Runs `/bin/sh -c command` the same way.
COHORT_EXPORT process_result run_shell(const std::string& command, process_options options = {});

}  // namespace cohort
