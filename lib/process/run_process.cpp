// SPDX-License-Identifier: Apache-2.0
// cohort::run_process / run_shell: spawn (spawn.cpp), supervise (supervise.cpp), and the
// bridge from the calling task's cancellation to the supervising poll() loop.
#include <cohort/process.hpp>

#include <cohort/detail/cancel_node.hpp>
#include <cohort/detail/stop.hpp>
#include <cohort/errors.hpp>

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <system_error>

#include "process/spawn.hpp"
#include "process/supervise.hpp"

namespace cohort {
namespace {

using clock = std::chrono::steady_clock;

std::chrono::nanoseconds to_ns(const timeval& tv) {
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

// Turns the calling task's stop request into a readable fd the poll() loop watches.
// Built only inside a task (a thread outside any task has nothing to cancel it).
class stop_bridge {
 public:
  stop_bridge() {
    if (detail::current_node == nullptr) return;
    scope_.emplace(detail::current_node);
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_.valid()) throw std::system_error(errno, std::generic_category(), "eventfd");
    // Runs on the cancelling thread (or here, if the stop was already requested).
    callback_.emplace(scope_->token(), [fd = wake_.get()]() noexcept {
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t w = ::write(fd, &one, sizeof one);
    });
  }
  int fd() const noexcept { return wake_.get(); }
  bool requested() const noexcept { return scope_ && scope_->token().stop_requested(); }

 private:
  std::optional<detail::stop_scope> scope_;
  detail::unique_fd wake_;
  // Declared last: destroyed first, so the callback never writes to a closed fd.
  std::optional<std::stop_callback<std::function<void()>>> callback_;
};

process_result run(const std::vector<std::string>& argv, process_options& options) {
  stop_bridge stop;
  if (stop.requested()) throw task_cancelled();

  const auto started = clock::now();
  detail::spawn_request request{&argv, &options.environment, &options.working_directory,
                                !options.input.empty(), options.capture};
  detail::spawned_child child = detail::spawn_in_new_group(request);
  if (options.on_start) {
    try {
      options.on_start(child.pid);
    } catch (...) {
      ::kill(-child.pid, SIGKILL);
      int status = 0;
      while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
      }
      throw;
    }
  }

  process_result result;
  detail::supervise_request watch;
  watch.input = options.input;
  if (options.timeout) watch.deadline = started + *options.timeout;
  watch.term_grace = options.term_grace;
  watch.stop_fd = stop.fd();
  watch.on_output = &options.on_output;
  watch.out = &result.out;
  watch.err = &result.err;
  const detail::supervise_outcome outcome =
      blocking([&] { return detail::supervise(child, watch); });

  result.wall = clock::now() - started;
  if (WIFEXITED(outcome.wait_status)) {
    result.exit_code = WEXITSTATUS(outcome.wait_status);
  } else if (WIFSIGNALED(outcome.wait_status)) {
    result.signal = WTERMSIG(outcome.wait_status);
  }
  result.user_cpu = to_ns(outcome.usage.ru_utime);
  result.system_cpu = to_ns(outcome.usage.ru_stime);
  result.max_rss_kb = outcome.usage.ru_maxrss;  // kilobytes on Linux
  if (outcome.killed == detail::kill_reason::cancelled) throw task_cancelled();
  if (outcome.killed == detail::kill_reason::timed_out) throw timeout_error();
  return result;
}

}  // namespace

process_result run_process(const std::vector<std::string>& argv, process_options options) {
  return run(argv, options);
}

process_result run_shell(const std::string& command, process_options options) {
  const std::vector<std::string> argv{"/bin/sh", "-c", command};
  return run(argv, options);
}

}  // namespace cohort
