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

/// Runs f(), which may block outside cohort (I/O, a lock, a child process, a condition
/// variable), and returns what it returns.
///
/// Called on a worker, the worker counts as blocked for as long as f runs: a spare thread
/// takes its place in the pool, so the pool keeps its parallelism and no job queued behind
/// the caller is stranded (Java's ForkJoinPool.managedBlock). Called on any other thread it
/// just calls f. Whatever way f ends (a value or an exception, which propagates), the
/// worker takes its place back before blocking returns.
/// Requirements: F is invocable with no arguments. Calls may nest.
/// Thread safety: call from any thread or task.
/// Example:
/// @code
/// std::string line = cohort::blocking([&] { return read_line(socket); });
/// @endcode
template <class F>
decltype(auto) blocking(F&& f) {
  detail::blocking_guard guard;
  return std::invoke(std::forward<F>(f));
}

/// How run_process() and run_shell() start and supervise the child. Every field has a
/// default: `{}` runs the command with captured output and no deadline.
struct process_options {
  /// Written to the child's stdin, which is then closed. Empty: stdin is /dev/null.
  std::string input{};
  /// True: stdout and stderr are read (and kept in process_result::out / err, or passed to
  /// on_output). False: the child inherits the caller's stdout and stderr.
  bool capture = true;
  /// Counted from the start: when it passes, the child's process group is killed (SIGTERM,
  /// then SIGKILL after term_grace) and the call throws timeout_error once it is reaped.
  std::optional<std::chrono::nanoseconds> timeout{};
  /// How long a SIGTERMed process group gets before SIGKILL (timeout or cancellation).
  std::chrono::nanoseconds term_grace = std::chrono::seconds(2);
  /// The child's working directory; empty: the caller's. One that cannot be entered makes
  /// the call throw std::system_error.
  std::string working_directory{};
  /// Extra NAME=VALUE entries for the child's environment; they override inherited ones.
  std::vector<std::string> environment{};

  // Extensions (for streaming consumers such as cohort-run):
  /// When set (and capture is true), each chunk of output is passed here as it arrives,
  /// from the waiting thread, instead of being kept in process_result::out / err. If it
  /// throws, the process group is killed (SIGKILL) and reaped, then the exception
  /// propagates out of the call.
  std::function<void(std::string_view chunk, bool from_stderr)> on_output{};
  /// Called once with the child's pid, on the calling thread, right after it started. If
  /// it throws, the process group is killed (SIGKILL) and reaped, then the exception
  /// propagates out of the call.
  std::function<void(int pid)> on_start{};
};

/// How a child ended, what it wrote and what it cost. A value: no thread safety needed.
struct process_result {
  int exit_code = -1;  ///< the exit status; -1 when a signal ended it
  int signal = 0;      ///< the signal that ended it, else 0
  ///@{
  /// What the child wrote to stdout and stderr (empty unless captured without on_output).
  std::string out{}, err{};
  ///@}
  ///@{
  /// Wall time from the start until the child was reaped; its user and system CPU time
  /// (from wait4(), so including its descendants it waited for).
  std::chrono::nanoseconds wall{}, user_cpu{}, system_cpu{};
  ///@}
  long max_rss_kb = 0;  ///< the child's peak resident set size, in kilobytes
  /// True when the child exited with status 0.
  bool ok() const noexcept { return exit_code == 0; }
};

/// Runs argv (argv[0] searched in PATH) in a new process group and waits for it inside
/// blocking(), so the pool keeps its parallelism meanwhile. A non-zero exit status is a
/// result (see process_result::ok()), not an exception.
///
/// Requirements: POSIX (Linux uses pidfds when the kernel has them: no PID-reuse race);
/// argv not empty.
/// Guarantees:
///  - Output pipes are drained while the child runs, so any output size works.
///  - The calling task's stop request (its cancel, a sibling's failure, a deadline) or
///    options.timeout kills the whole process group (SIGTERM, then SIGKILL after
///    term_grace); the call throws task_cancelled / timeout_error only after the child was
///    reaped. A task already cancelled throws task_cancelled before anything starts. Called
///    outside any task, only the timeout stops the child.
///  - When the child itself ends, whatever it left running in its process group is killed
///    (SIGKILL) before the call returns: no process or zombie is ever left behind, also
///    when a callback throws.
///  - Throws std::system_error when the child cannot be started
///    (errc::no_such_file_or_directory when argv[0] is not found, errc::invalid_argument
///    for an empty argv) or when a system call fails.
/// Thread safety: call from any thread or task, concurrently.
/// Example:
/// @code
/// using namespace std::chrono_literals;
/// auto r = cohort::run_process({"git", "rev-parse", "HEAD"}, {.timeout = 5s});
/// if (r.ok()) use(r.out);
/// @endcode
COHORT_EXPORT process_result run_process(const std::vector<std::string>& argv,
                                         process_options options = {});
/// Runs `/bin/sh -c command` as run_process() runs argv: same guarantees and errors.
/// @code
/// auto r = cohort::run_shell("make -j4 2>&1 | tail -n 20", {.working_directory = "build"});
/// @endcode
COHORT_EXPORT process_result run_shell(const std::string& command, process_options options = {});

}  // namespace cohort
